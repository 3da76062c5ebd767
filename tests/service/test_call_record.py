"""One record of a call: what ``waihu dial`` prints, the attempt row, the API view and ``call.finished``
use the same names and values for the same facts (issue #12: no ringing_at/ring_at drift)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from dialog.state import Turn
from tests.service.helpers import add_contacts, graded_call, make_campaign
from waihu.call_record import CallRecord, utc_from_epoch
from waihu.service.models import Attempt, Transfer, WebhookEvent
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.views import AttemptView

#: What only a live run knows (``waihu dial``): every other key of the record is a field of the API's result.
LIVE_ONLY = {
    "target",
    "dnc",
    "conversation_outcome",
    "lines",
    "latencies_ms",
    "events",
    "transfer",
    "voicemail",
}
T0 = dt.datetime(2026, 3, 2, 1, 0, 0, 250_000, tzinfo=dt.UTC)


def _record() -> CallRecord:
    conversation = graded_call("A", ["想办理"])
    conversation.trace = [
        Turn(index=1, node="greeting", kind="utterance", utterance="是我", intent="affirm", confidence=0.93)
    ]
    return CallRecord(
        outcome="answered",
        target="sip:13800000000@127.0.0.1:5070",
        sip_code=200,
        sip_reason="OK",
        started_at=T0,
        ring_at=T0 + dt.timedelta(seconds=1.5),
        answer_at=T0 + dt.timedelta(seconds=6),
        end_at=T0 + dt.timedelta(seconds=47.25),
        conversation=conversation,
        lines=[(0.4, "robot", "您好"), (2.1, "callee", "是我")],
        latencies_ms=[612.4],
    )


def test_dial_json_uses_the_api_result_names() -> None:
    printed = _record().to_dict()
    assert set(printed) - LIVE_ONLY <= set(AttemptView.model_fields), (
        set(printed) - LIVE_ONLY - set(AttemptView.model_fields)
    )
    for drift in ("ringing_at", "answered_at", "ended_at", "trace", "result"):
        assert drift not in printed


def test_row_columns_are_attempt_columns_and_seat_legs_share_the_names() -> None:
    columns = set(_record().columns(T0))
    assert columns <= {column.key for column in inspect(Attempt).columns}
    legs = {column.key for column in inspect(Transfer).columns}
    assert {"ring_at", "answer_at", "end_at"} <= legs and not legs & {"ringing_at", "answered_at", "ended_at"}


def test_the_same_facts_reach_dial_json_api_and_webhook(factory: sessionmaker[Session]) -> None:
    record = _record()
    printed = record.to_dict()
    with factory() as session:
        campaign = make_campaign(session, webhook_url="https://203.0.113.9/hook", webhook_secret="s" * 32)
        add_contacts(session, campaign.id, 1)
        [claim] = claim_due_contacts(session, "w", T0, 1, campaign_ids=[campaign.id])
        record_result(session, claim.attempt_id, record, T0 + dt.timedelta(minutes=1))
        attempt = session.get(Attempt, claim.attempt_id)
        assert attempt is not None
        view = AttemptView.from_row(attempt).model_dump()
        [event] = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "call.finished"))
    shared = set(printed) - LIVE_ONLY
    assert {key: printed[key] for key in shared} == {key: view[key] for key in shared}
    assert {key: event.payload[key] for key in shared} == {key: view[key] for key in shared}
    assert view["answer_at"] == "2026-03-02T01:00:06.250000Z" and view["duration_s"] == 41.25
    assert view["hangup_by"] == "callee"  # from the engine's outcome when the call layer did not say
    assert view["transcript"][0]["intent"] == "affirm"


def test_sip_epoch_stamps_become_utc_and_none_stays_none() -> None:
    assert utc_from_epoch(None) is None and utc_from_epoch(0.0) is None
    assert utc_from_epoch(T0.timestamp()) == T0
    assert all(field.name != "call" for field in dataclasses.fields(CallRecord))
