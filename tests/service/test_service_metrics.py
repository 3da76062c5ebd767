"""/metrics (prometheus_client): calls by campaign and outcome, live calls, webhook backlog; a worker's
own metrics (reply latency per turn) as its calls happen."""

from __future__ import annotations

import re

import httpx

from dialog import events as ev
from dialog.engine import Engine
from dialog.loader import load_flow_text
from sip_peers.peers import free_udp_port
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import Server, add_contacts, make_campaign
from waihu.call_record import CallRecord
from waihu.calls.metrics import WorkerMetrics
from waihu.service.db import open_database
from waihu.service.scheduler import claim_due_contacts, mark_answered, record_result
from waihu.voice.sip_driver import attach_latencies


def _finished_call():  # type: ignore[no-untyped-def]
    flow = load_flow_text(MINIMAL_FLOW, "mini.yaml").flow
    engine = Engine(flow)
    engine.start()
    engine.handle(ev.UserUtterance("好的", "affirm", 1.0))
    result = engine.result()
    attach_latencies(result, [640.0])
    return result


def test_metrics_report_calls_live_latency_and_backlog(server: Server) -> None:
    _engine, factory = open_database(server.settings.database_url, migrate=False)
    with factory() as session:
        campaign = make_campaign(session, webhook_url="http://127.0.0.1:9/hook", webhook_secret="s" * 20)
        add_contacts(session, campaign.id, 3, start=900)
        answered, busy, live = claim_due_contacts(session, "metrics-worker", limit=3)
        mark_answered(session, answered.attempt_id)
        record_result(
            session,
            answered.attempt_id,
            CallRecord(outcome="answered", sip_code=200, conversation=_finished_call()),
        )
        record_result(session, busy.attempt_id, CallRecord(outcome="busy", sip_code=486))
    assert httpx.get(f"{server.base_url}/metrics", timeout=10).status_code == 401  # a key is needed
    with server.client() as client:
        text = client.get("/metrics").text
    calls = f'waihu_calls_total{{campaign="{campaign.id}",outcome="%s"}} 1.0'
    assert calls % "answered" in text and calls % "busy" in text
    assert "waihu_live_calls 1.0" in text  # the third claim is still dialling
    assert 'waihu_live_calls_by_worker{worker="metrics-worker"} 1.0' in text
    assert "transcript" not in text and "waihu_turn_latency" not in text  # no transcripts read
    backlog = float(re.search(r"^waihu_webhook_backlog (\S+)$", text, re.MULTILINE).group(1))
    assert backlog >= 2  # call.finished events waiting for a receiver that is not there
    assert live.attempt_id


def test_a_worker_counts_its_calls_and_reply_latencies_as_they_happen() -> None:
    metrics = WorkerMetrics("w1")
    port = free_udp_port()
    metrics.serve(port)
    metrics.call_started()
    metrics.call_started()
    metrics.call_finished(7, "answered", [640.0, 910.0])
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'waihu_worker_active_calls{worker="w1"} 1.0' in text
    assert 'waihu_worker_calls_total{campaign="7",outcome="answered",worker="w1"} 1.0' in text
    bucket = 'waihu_worker_reply_latency_seconds_bucket{campaign="7",le="%s",worker="w1"}'
    assert (
        f"{bucket % '0.65'} 1.0" in text
        and f"{bucket % '0.9'} 1.0" in text
        and f"{bucket % '1.0'} 2.0" in text
    )
