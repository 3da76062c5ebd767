"""Scheduler rules with a fixed ``now``: windows across time zones, limits, retries, DNC, lines, priority."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dialog.state import CallResult, Turn
from tests.service.helpers import MONDAY_10_SHANGHAI, add_contacts, make_campaign
from waihu.call_record import CallRecord
from waihu.service.models import Attempt, Campaign, Contact, Dnc, WebhookEvent
from waihu.service.scheduler import (
    AttemptNotInProgress,
    claim_due_contacts,
    mark_answered,
    mark_ringing,
    record_result,
)

NOW = MONDAY_10_SHANGHAI
WEEKDAY_MORNING = [{"weekdays": [1, 2, 3, 4, 5], "start": "09:00", "end": "12:00"}]


def answered_call(grade: str = "A", *, dnc: bool = False) -> CallResult:
    """A finished call as the engine reports it."""
    trace = [
        Turn(
            index=0,
            node="ask",
            kind="utterance",
            utterance="好的",
            intent="affirm",
            reply="好的",
            next_node="done",
        )
    ]
    return CallResult(
        flow_id="mini",
        flow_version=1,
        outcome="robot_hangup",
        hangup_reason="flow end",
        grade=grade,
        grade_label="agreed",
        tags=["yes"],
        dnc=dnc,
        rounds=1,
        kb_hits=["fee"],
        visited=["ask", "done"],
        barge_ins=0,
        trace=trace,
    )


def claim(factory: sessionmaker[Session], now: dt.datetime, limit: int = 10, worker: str = "w1"):
    with factory() as session:
        return claim_due_contacts(session, worker, now, limit)


def record(factory: sessionmaker[Session], attempt_id: str, result: CallRecord, now: dt.datetime):
    with factory() as session:
        return record_result(session, attempt_id, result, now)


def events(factory: sessionmaker[Session], event_type: str) -> list[WebhookEvent]:
    with factory() as session:
        return list(session.scalars(select(WebhookEvent).where(WebhookEvent.type == event_type)))


def test_claim_writes_the_attempt_row_before_the_dial(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, webhook_url="http://127.0.0.1:9/hook", webhook_secret="s" * 20)
        add_contacts(session, campaign.id, 3)
    claims = claim(factory, NOW, limit=2)
    assert len(claims) == 2
    with factory() as session:  # a new session: the rows are committed before anyone dials
        for c in claims:
            attempt = session.get(Attempt, c.attempt_id)
            assert attempt is not None and attempt.status == "dialling" and attempt.number == 1
            assert attempt.claimed_by == "w1" and attempt.lease_until > NOW
            contact = session.get(Contact, c.contact_id)
            assert contact is not None
            assert (contact.state, contact.last_attempt_id, contact.attempts_total) == (
                "dialling",
                c.attempt_id,
                1,
            )
        assert session.get(Campaign, campaign.id).state == "executing"  # type: ignore[union-attr]
    assert claims[0].phone.startswith("+86138") and claims[0].caller_number == "+862100000001"
    assert [e.payload["to"] for e in events(factory, "campaign.state_changed")] == ["executing"]


def test_calling_windows_follow_each_campaigns_time_zone(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        shanghai = make_campaign(session, name="sh", timezone="Asia/Shanghai", windows=WEEKDAY_MORNING)
        new_york = make_campaign(session, name="ny", timezone="America/New_York", windows=WEEKDAY_MORNING)
        add_contacts(session, shanghai.id, 2)
        add_contacts(session, new_york.id, 2, start=100)
    # Monday 10:00 in Shanghai is Sunday 21:00 in New York.
    assert {c.campaign_id for c in claim(factory, NOW)} == {shanghai.id}
    # Monday 10:00 in New York (15:00 UTC) is 23:00 in Shanghai.
    assert {c.campaign_id for c in claim(factory, dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC))} == {
        new_york.id
    }
    # Saturday: nobody.
    assert claim(factory, dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)) == []


def test_window_edges_are_start_inclusive_end_exclusive(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, windows=WEEKDAY_MORNING)
        add_contacts(session, campaign.id, 2)
    assert claim(factory, dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)) == []  # 12:00 local
    assert claim(factory, dt.datetime(2026, 11, 23, 0, 59, 59, tzinfo=dt.UTC)) == []  # 08:59:59
    assert len(claim(factory, dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC))) == 2  # 09:00


def test_not_before_and_not_after_dates(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        later = make_campaign(session, not_before=dt.date(2026, 11, 24))
        ended = make_campaign(session, not_after=dt.date(2026, 11, 22))
        add_contacts(session, later.id, 1)
        add_contacts(session, ended.id, 1, start=10)
    assert claim(factory, NOW) == []
    assert [c.campaign_id for c in claim(factory, NOW + dt.timedelta(days=1))] == [later.id]


def test_retry_interval_per_outcome(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(
            session,
            retry_policy={"busy": {"interval_s": 1800, "max": 1}},
            webhook_url="http://127.0.0.1:9/",
            webhook_secret="x" * 20,
        )
        add_contacts(session, campaign.id, 1)
    (first,) = claim(factory, NOW)
    recorded = record(
        factory, first.attempt_id, CallRecord(outcome="busy", sip_code=486, sip_reason="Busy Here"), NOW
    )
    assert not recorded.final and recorded.next_attempt_at == NOW + dt.timedelta(seconds=1800)
    assert claim(factory, NOW + dt.timedelta(seconds=1799)) == []
    (second,) = claim(factory, NOW + dt.timedelta(seconds=1800))
    assert second.attempt_number == 2 and second.attempt_id != first.attempt_id
    # The one retry for busy is spent: a second busy finishes the contact.
    recorded = record(
        factory, second.attempt_id, CallRecord(outcome="busy", sip_code=486), NOW + dt.timedelta(hours=1)
    )
    assert recorded.final
    (finished,) = events(factory, "contact.finished")
    assert finished.payload["final_outcome"] == "busy" and finished.payload["attempts"] == 2
    assert len(events(factory, "call.finished")) == 2


def test_outcome_without_retry_rule_is_final(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, retry_policy={"busy": {"interval_s": 60, "max": 3}})
        add_contacts(session, campaign.id, 1)
    (c,) = claim(factory, NOW)
    assert record(factory, c.attempt_id, CallRecord(outcome="invalid_number", sip_code=404), NOW).final


def test_per_day_limit_moves_the_retry_to_the_next_local_day(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(
            session,
            windows=WEEKDAY_MORNING,
            max_attempts_per_day=1,
            retry_policy={"no_answer": {"interval_s": 60, "max": 5}},
        )
        add_contacts(session, campaign.id, 1)
    (first,) = claim(factory, NOW)
    recorded = record(factory, first.attempt_id, CallRecord(outcome="no_answer", sip_code=480), NOW)
    # Next local day (Tuesday) at the window's start: 09:00 Shanghai = 01:00 UTC.
    assert recorded.next_attempt_at == dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    assert claim(factory, NOW + dt.timedelta(minutes=5)) == []
    (second,) = claim(factory, dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC))
    assert second.attempt_number == 2
    with factory() as session:
        contact = session.get(Contact, second.contact_id)
        assert (
            contact is not None
            and contact.attempts_on_day == 1
            and contact.attempts_day == dt.date(2026, 11, 24)
        )


def test_per_day_limit_is_enforced_at_claim_time_too(factory: sessionmaker[Session]) -> None:
    """Even a contact made due by hand is not dialled past today's quota."""
    with factory() as session:
        campaign = make_campaign(
            session, max_attempts_per_day=1, retry_policy={"no_answer": {"interval_s": 60, "max": 5}}
        )
        add_contacts(session, campaign.id, 1)
    (first,) = claim(factory, NOW)
    record(factory, first.attempt_id, CallRecord(outcome="no_answer"), NOW)
    with factory() as session:
        contact = session.get(Contact, first.contact_id)
        assert contact is not None
        contact.next_attempt_at = NOW
        session.commit()
    assert claim(factory, NOW + dt.timedelta(minutes=1)) == []


def test_max_attempts_in_total(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(
            session, max_attempts=2, retry_policy={"no_answer": {"interval_s": 60, "max": 10}}
        )
        add_contacts(session, campaign.id, 1)
    now = NOW
    for number in (1, 2):
        (c,) = claim(factory, now)
        assert c.attempt_number == number
        recorded = record(factory, c.attempt_id, CallRecord(outcome="no_answer"), now)
        now += dt.timedelta(minutes=2)
    assert recorded.final and "max attempts" in recorded.reason
    assert claim(factory, now + dt.timedelta(days=1)) == []


def test_dnc_numbers_are_never_dialled(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, webhook_url="http://127.0.0.1:9/", webhook_secret="x" * 20)
        add_contacts(session, campaign.id, 3)
        session.add(Dnc(phone="+8613800000001", reason="complained"))
        session.commit()
    claims = claim(factory, NOW)
    assert sorted(c.reference_id for c in claims) == ["c0", "c2"]
    with factory() as session:
        blocked = session.scalars(select(Contact).where(Contact.reference_id == "c1")).one()
        assert (blocked.state, blocked.final_outcome, blocked.attempts_total) == ("done", "dnc_blocked", 0)
    assert [e.payload["reference_id"] for e in events(factory, "contact.finished")] == ["c1"]


def test_line_concurrency_counts_attempts_in_progress(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, concurrency=2)
        add_contacts(session, campaign.id, 5)
    first = claim(factory, NOW, limit=10)
    assert len(first) == 2
    assert claim(factory, NOW, limit=10, worker="w2") == []
    with factory() as session:
        mark_ringing(session, first[0].attempt_id, NOW)
        mark_answered(session, first[0].attempt_id, NOW)
    assert claim(factory, NOW, limit=10) == []  # in_call still holds a line
    record(factory, first[1].attempt_id, CallRecord(outcome="no_answer"), NOW)
    assert len(claim(factory, NOW, limit=10)) == 1


def test_priority_serves_the_higher_campaign_first(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        low = make_campaign(session, name="low", priority=1)
        high = make_campaign(session, name="high", priority=5)
        add_contacts(session, low.id, 3)
        add_contacts(session, high.id, 3, start=10)
    assert {c.campaign_id for c in claim(factory, NOW, limit=3)} == {high.id}
    assert {c.campaign_id for c in claim(factory, NOW, limit=3)} == {low.id}


def test_oldest_due_contact_first(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1, start=5, now=NOW - dt.timedelta(hours=1))
        add_contacts(session, campaign.id, 1, start=1, now=NOW - dt.timedelta(hours=2))
    assert [c.reference_id for c in claim(factory, NOW, limit=2)] == ["c1", "c5"]


def test_paused_and_cancelled_campaigns_are_not_dialled(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        paused = make_campaign(session, state="paused")
        cancelled = make_campaign(session, state="cancelled")
        add_contacts(session, paused.id, 1)
        add_contacts(session, cancelled.id, 1, start=5)
    assert claim(factory, NOW) == []


def test_answered_call_result_grade_trace_and_campaign_success(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, webhook_url="http://127.0.0.1:9/", webhook_secret="x" * 20)
        add_contacts(session, campaign.id, 1)
    (c,) = claim(factory, NOW)
    with factory() as session:
        mark_ringing(session, c.attempt_id, NOW + dt.timedelta(seconds=1))
        mark_answered(session, c.attempt_id, NOW + dt.timedelta(seconds=5))
        assert session.get(Contact, c.contact_id).state == "in_call"  # type: ignore[union-attr]
    result = CallRecord(
        outcome="answered",
        sip_code=200,
        started_at=NOW,
        ring_at=NOW + dt.timedelta(seconds=1),
        answer_at=NOW + dt.timedelta(seconds=5),
        end_at=NOW + dt.timedelta(seconds=65),
        conversation=answered_call("A"),
        recording_path="/rec/x.wav",
    )
    recorded = record(factory, c.attempt_id, result, NOW + dt.timedelta(seconds=66))
    assert recorded.final
    with factory() as session:
        attempt = session.get(Attempt, c.attempt_id)
        contact = session.get(Contact, c.contact_id)
        assert attempt is not None and contact is not None
        assert (attempt.grade, attempt.hangup_by, attempt.rounds, attempt.kb_hits) == (
            "A",
            "robot",
            1,
            ["fee"],
        )
        assert attempt.transcript[0]["node"] == "ask" and attempt.transcript[0]["intent"] == "affirm"
        assert (contact.state, contact.final_outcome, contact.final_grade, contact.tags) == (
            "done",
            "answered",
            "A",
            ["yes"],
        )
        assert session.get(Campaign, campaign.id).state == "succeeded"  # type: ignore[union-attr]
    (call_finished,) = events(factory, "call.finished")
    assert call_finished.payload["duration_s"] == 60.0 and call_finished.payload["ring_s"] == 4.0
    assert [e.payload["to"] for e in events(factory, "campaign.state_changed")] == ["executing", "succeeded"]
    with factory() as session, pytest.raises(AttemptNotInProgress):
        record_result(session, c.attempt_id, result, NOW)


def test_callee_asking_for_dnc_is_added_to_the_list(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1)
    (c,) = claim(factory, NOW)
    record(
        factory,
        c.attempt_id,
        CallRecord(outcome="answered", sip_code=200, conversation=answered_call("D", dnc=True)),
        NOW,
    )
    with factory() as session:
        assert session.scalars(select(Dnc.source).where(Dnc.phone == c.phone)).one() == "call"


def test_no_contact_is_claimed_twice(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, concurrency=100)
        add_contacts(session, campaign.id, 30)
    ids = [c.contact_id for worker in ("a", "b", "c") for c in claim(factory, NOW, limit=7, worker=worker)]
    assert len(ids) == len(set(ids)) == 21
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Attempt)) == 21
