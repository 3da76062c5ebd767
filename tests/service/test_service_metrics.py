"""/metrics in Prometheus text format: calls by outcome, live calls, latency histogram, webhook backlog."""

from __future__ import annotations

import re

import httpx

from dialog import events as ev
from dialog.engine import Engine
from dialog.loader import load_flow_text
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import Server, add_contacts, make_campaign
from waihu.service.attempt_result import AttemptResult
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
            AttemptResult(outcome="answered", sip_code=200, call=_finished_call()),
        )
        record_result(session, busy.attempt_id, AttemptResult(outcome="busy", sip_code=486))
    assert httpx.get(f"{server.base_url}/metrics", timeout=10).status_code == 401  # a key is needed
    with server.client() as client:
        text = client.get("/metrics").text
    assert 'waihu_calls_total{outcome="answered"} 1' in text and 'waihu_calls_total{outcome="busy"} 1' in text
    assert "waihu_live_calls 1" in text  # the third claim is still dialling
    assert 'waihu_turn_latency_seconds_bucket{le="0.5"} 0' in text
    assert (
        'waihu_turn_latency_seconds_bucket{le="0.8"} 1' in text
        and "waihu_turn_latency_seconds_count 1" in text
    )
    backlog = int(re.search(r"^waihu_webhook_backlog (\d+)$", text, re.MULTILINE).group(1))
    assert backlog >= 2  # call.finished events waiting for a receiver that is not there
    assert live.attempt_id
