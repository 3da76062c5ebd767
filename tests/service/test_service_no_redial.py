"""No surprise re-dials: an answered call lost with its worker is not retried (unless the policy says
so), and a worker whose result write fails stops renewing that attempt's lease so recovery takes it."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import MONDAY_10_SHANGHAI, add_contacts, make_campaign
from waihu.call_record import CallRecord
from waihu.service.models import Attempt, Contact
from waihu.service.scheduler import (
    DEFAULT_LEASE_S,
    claim_due_contacts,
    heartbeat,
    mark_answered,
    mark_ringing,
    recover_stale,
)

NOW = MONDAY_10_SHANGHAI
LOST_RETRY = {"lost": {"interval_s": 600, "max": 2}}
EXPIRED_LEASE = NOW + dt.timedelta(seconds=DEFAULT_LEASE_S + 60)


def _claim_three(factory: sessionmaker[Session], **campaign: Any) -> list[Any]:
    with factory() as session:
        made = make_campaign(session, retry_policy=LOST_RETRY, **campaign)
        add_contacts(session, made.id, 3)
        claims = claim_due_contacts(session, "dead", NOW, 3)
        mark_ringing(session, claims[1].attempt_id, NOW)  # rang, never answered
        mark_answered(session, claims[2].attempt_id, NOW + dt.timedelta(seconds=2))  # talking
    return claims


def test_a_lost_answered_call_is_not_dialled_again(factory: sessionmaker[Session]) -> None:
    never_rang, rang, answered = _claim_three(factory)
    with factory() as session:
        recovered = {r.attempt_id: r for r in recover_stale(session, EXPIRED_LEASE)}
    assert not recovered[never_rang.attempt_id].final
    assert not recovered[rang.attempt_id].final
    assert recovered[answered.attempt_id].final
    assert recovered[answered.attempt_id].reason == "no retry for lost_after_answer"
    with factory() as session:
        contact = session.get(Contact, answered.contact_id)
        assert contact is not None and (contact.state, contact.final_outcome) == ("done", "lost")
        attempt = session.get(Attempt, answered.attempt_id)
        assert attempt is not None and attempt.outcome == "lost" and attempt.answer_at is not None
        again = claim_due_contacts(session, "w2", EXPIRED_LEASE + dt.timedelta(hours=1), 10)
    assert sorted(c.contact_id for c in again) == sorted([never_rang.contact_id, rang.contact_id])


def test_the_policy_may_allow_a_retry_after_an_answered_lost_call(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        made = make_campaign(
            session,
            retry_policy={**LOST_RETRY, "lost_after_answer": {"interval_s": 3600, "max": 1}},
        )
        add_contacts(session, made.id, 1)
        (claim,) = claim_due_contacts(session, "dead", NOW, 1)
        mark_answered(session, claim.attempt_id, NOW)
    with factory() as session:
        (recovered,) = recover_stale(session, EXPIRED_LEASE)
    assert not recovered.final
    assert recovered.next_attempt_at == EXPIRED_LEASE + dt.timedelta(seconds=3600)


def test_heartbeat_renews_only_the_attempts_named(factory: sessionmaker[Session]) -> None:
    claims = _claim_three(factory)
    beat = NOW + dt.timedelta(seconds=100)
    with factory() as session:
        assert heartbeat(session, "dead", beat, attempt_ids=[claims[0].attempt_id]) == 1
        assert heartbeat(session, "dead", beat, attempt_ids=[]) == 0
        lost = recover_stale(session, NOW + dt.timedelta(seconds=DEFAULT_LEASE_S + 10))
    assert {r.attempt_id for r in lost} == {claims[1].attempt_id, claims[2].attempt_id}


def test_a_failed_result_write_releases_the_attempt(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from waihu.calls import worker as worker_module
    from waihu.calls.worker import DialPlan, Worker, WorkerConfig

    with factory() as session:
        made = make_campaign(session)
        add_contacts(session, made.id, 1)
        (claim,) = claim_due_contacts(session, "w", NOW, 1)
    worker = Worker(factory, WorkerConfig(worker_id="w", dial_plan=DialPlan(), result_retry_s=0.0))
    worker._active.add(claim.attempt_id)  # as run() does when it starts the call
    tries: list[str] = []

    async def fake_call(_engine: Any, _claim: Any) -> CallRecord:
        return CallRecord(outcome="answered")

    def broken_store(_session: Session, attempt_id: str, _result: CallRecord) -> None:
        tries.append(attempt_id)
        raise RuntimeError("database is down")

    monkeypatch.setattr(worker, "_call", fake_call)
    monkeypatch.setattr(worker_module, "store_result", broken_store)
    asyncio.run(worker._handle(None, claim))
    assert len(tries) == 3  # retried, then given up
    assert claim.attempt_id not in worker._active
    with factory() as session:
        # The live worker's heartbeat no longer renews it: recovery takes it once the lease is over.
        assert worker.beat(session, NOW + dt.timedelta(seconds=100)) == 0
        (lost,) = recover_stale(session, NOW + dt.timedelta(seconds=DEFAULT_LEASE_S + 1))
    assert lost.attempt_id == claim.attempt_id
