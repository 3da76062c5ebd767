"""Webhook outbox delivered to a real local HTTP receiver: signature, retries with backoff, outage."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import MONDAY_10_SHANGHAI, add_contacts, free_port, make_campaign
from waihu.call_record import CallRecord
from waihu.service.models import WebhookEvent
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.webhook_destinations import DestinationPolicy
from waihu.service.webhooks import (
    SIGNATURE_HEADER,
    Backoff,
    WebhookSender,
    enqueue_event,
    sign,
    verify_signature,
)

SECRET = "test-secret-0123456789"
#: The receivers run on 127.0.0.1 over plain HTTP: what the allow-list settings
#: WAIHU_WEBHOOK_ALLOW_HTTP=1 and WAIHU_WEBHOOK_ALLOW=127.0.0.1 admit.
LOCAL_RECEIVERS = DestinationPolicy.from_entries(["127.0.0.1"], allow_http=True)


class Receiver:
    """Records what it receives; answers with the next status of ``statuses`` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serve(receiver: Receiver, port: int) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), receiver.handler())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        httpd.shutdown()
        httpd.server_close()


def finished_call_events(factory: sessionmaker[Session], url: str, count: int = 1) -> None:
    """Run ``count`` contacts to a final no_answer so the outbox holds call/contact/campaign events."""
    with factory() as session:
        campaign = make_campaign(session, webhook_url=url, webhook_secret=SECRET, retry_policy={})
        add_contacts(session, campaign.id, count)
        for claim in claim_due_contacts(session, "w", MONDAY_10_SHANGHAI, count):
            record_result(
                session,
                claim.attempt_id,
                CallRecord(outcome="no_answer", sip_code=480),
                MONDAY_10_SHANGHAI,
            )


def test_signature_round_trip_and_rejections() -> None:
    body = b'{"id":"1"}'
    header = sign(body, SECRET, int(time.time()))
    assert verify_signature(header, body, SECRET)
    assert not verify_signature(header, body + b" ", SECRET)
    assert not verify_signature(header, body, "other-secret")
    assert not verify_signature(sign(body, SECRET, int(time.time()) - 3600), body, SECRET)
    assert verify_signature(sign(body, SECRET, 1000), body, SECRET, tolerance_s=0)
    assert not verify_signature("garbage", body, SECRET)


def test_events_are_delivered_signed(factory: sessionmaker[Session]) -> None:
    receiver = Receiver()
    with serve(receiver, free_port()) as url:
        finished_call_events(factory, url)
        sender = WebhookSender(factory, policy=LOCAL_RECEIVERS)
        try:
            assert sender.deliver_due() == 4
            assert sender.deliver_due() == 0  # nothing twice
        finally:
            sender.close()
    types = []
    for headers, body in receiver.received:
        assert verify_signature(headers[SIGNATURE_HEADER], body, SECRET)
        envelope = json.loads(body)
        assert headers["X-Waihu-Event-Id"] == envelope["id"]
        types.append(envelope["type"])
    assert types == ["campaign.state_changed", "call.finished", "contact.finished", "campaign.state_changed"]
    call = json.loads(receiver.received[1][1])["data"]
    assert (call["outcome"], call["sip_code"], call["attempt_number"], call["reference_id"]) == (
        "no_answer",
        480,
        1,
        "c0",
    )


def test_receiver_errors_are_retried_with_backoff_then_delivered_once(factory: sessionmaker[Session]) -> None:
    receiver = Receiver(statuses=[500, 503])
    with serve(receiver, free_port()) as url:
        with factory() as session:
            campaign = make_campaign(session, webhook_url=url, webhook_secret=SECRET)
            enqueue_event(session, campaign, "contact.regraded", {"reference_id": "r1"}, MONDAY_10_SHANGHAI)
            session.commit()
        sender = WebhookSender(factory, backoff=Backoff(base_s=5, cap_s=300), policy=LOCAL_RECEIVERS)
        t0 = MONDAY_10_SHANGHAI
        try:
            assert sender.deliver_due(t0) == 0  # 500
            assert sender.deliver_due(t0 + dt.timedelta(seconds=4)) == 0  # not due yet: nothing sent
            assert len(receiver.received) == 1
            assert sender.deliver_due(t0 + dt.timedelta(seconds=5)) == 0  # 503, next in 10 s
            assert sender.deliver_due(t0 + dt.timedelta(seconds=14)) == 0
            assert sender.deliver_due(t0 + dt.timedelta(seconds=15)) == 1
            assert sender.deliver_due(t0 + dt.timedelta(hours=1)) == 0
        finally:
            sender.close()
    ids = {json.loads(body)["id"] for _h, body in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1
    with factory() as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "contact.regraded")).one()
        assert (event.attempts, event.last_status, event.next_try_at) == (3, 200, None)
        assert event.delivered_at is not None


def test_receiver_down_for_ten_minutes_gets_every_event_after(factory: sessionmaker[Session]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    finished_call_events(factory, url, count=3)  # 1 + 3 + 3 + 1 events
    t = MONDAY_10_SHANGHAI
    end = t + dt.timedelta(minutes=10)
    tries = 0
    while t < end:  # connection refused all along; a fresh sender each round, as after restarts
        sender = WebhookSender(factory, timeout_s=2, policy=LOCAL_RECEIVERS)
        try:
            assert sender.deliver_due(t) == 0
        finally:
            sender.close()
        tries += 1
        t += dt.timedelta(seconds=30)
    with factory() as session:
        pending = list(session.scalars(select(WebhookEvent)))
        assert all(e.delivered_at is None and e.next_try_at is not None for e in pending)
        assert max(e.attempts for e in pending) >= 6  # backed off: fewer tries than rounds
        assert max(e.attempts for e in pending) < tries
    receiver = Receiver()
    with serve(receiver, port):
        sender = WebhookSender(factory, policy=LOCAL_RECEIVERS)
        try:
            assert sender.deliver_due(t + dt.timedelta(minutes=5)) == 8
            assert sender.deliver_due(t + dt.timedelta(hours=1)) == 0
        finally:
            sender.close()
    envelopes = [json.loads(body) for _h, body in receiver.received]
    assert len(envelopes) == len({e["id"] for e in envelopes}) == 8
    assert sorted(e["type"] for e in envelopes).count("call.finished") == 3
