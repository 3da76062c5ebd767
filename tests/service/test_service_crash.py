"""Crash safety: leases, recovery of a dead worker's attempts, never a second attempt with one number."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import MONDAY_10_SHANGHAI, add_contacts, make_campaign
from waihu.call_record import CallRecord
from waihu.service.models import Attempt, Contact
from waihu.service.scheduler import (
    DEFAULT_LEASE_S,
    AttemptNotInProgress,
    claim_due_contacts,
    heartbeat,
    mark_answered,
    record_result,
    recover_stale,
)

NOW = MONDAY_10_SHANGHAI
LOST_RETRY = {"lost": {"interval_s": 600, "max": 1}}


def test_dead_worker_attempt_is_lost_and_a_new_attempt_follows(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, retry_policy=LOST_RETRY)
        add_contacts(session, campaign.id, 1)
        (claim,) = claim_due_contacts(session, "dead-worker", NOW, 1)
    # The worker dies: no heartbeat. Before the lease expires nothing happens.
    with factory() as session:
        assert recover_stale(session, NOW + dt.timedelta(seconds=DEFAULT_LEASE_S - 1)) == []
    after = NOW + dt.timedelta(seconds=DEFAULT_LEASE_S + 1)
    with factory() as session:
        (recovered,) = recover_stale(session, after)
    assert recovered.attempt_id == claim.attempt_id and not recovered.final
    assert recovered.next_attempt_at == after + dt.timedelta(seconds=600)
    with factory() as session:
        attempt = session.get(Attempt, claim.attempt_id)
        assert attempt is not None and (attempt.status, attempt.outcome, attempt.hangup_by) == (
            "finished",
            "lost",
            "system",
        )
        assert session.get(Contact, claim.contact_id).state == "pending"  # type: ignore[union-attr]
        # Recovering again does nothing: the lost attempt is settled.
        assert recover_stale(session, after + dt.timedelta(hours=1)) == []
    # A late result from the dead worker cannot reopen it.
    with factory() as session, pytest.raises(AttemptNotInProgress):
        record_result(session, claim.attempt_id, CallRecord(outcome="answered"), after)
    with factory() as session:
        (retry,) = claim_due_contacts(session, "w2", after + dt.timedelta(seconds=600), 1)
    assert (
        retry.contact_id == claim.contact_id
        and retry.attempt_number == 2
        and retry.attempt_id != claim.attempt_id
    )
    with factory() as session:
        numbers = session.scalars(select(Attempt.number).where(Attempt.contact_id == claim.contact_id)).all()
        assert sorted(numbers) == [1, 2]


def test_heartbeat_keeps_live_calls_from_being_recovered(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 2)
        claims = claim_due_contacts(session, "live", NOW, 2)
        mark_answered(session, claims[0].attempt_id, NOW + dt.timedelta(seconds=3))
    beat = NOW + dt.timedelta(seconds=100)
    with factory() as session:
        assert heartbeat(session, "live", beat) == 2
        assert recover_stale(session, NOW + dt.timedelta(seconds=DEFAULT_LEASE_S + 10)) == []
        lost = recover_stale(session, beat + dt.timedelta(seconds=DEFAULT_LEASE_S + 1))
    assert {r.attempt_id for r in lost} == {c.attempt_id for c in claims}


def test_lost_without_retry_rule_finishes_the_contact(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, retry_policy={})
        add_contacts(session, campaign.id, 1)
        (claim,) = claim_due_contacts(session, "w", NOW, 1)
        (recovered,) = recover_stale(session, NOW + dt.timedelta(hours=1))
    assert recovered.final
    with factory() as session:
        contact = session.get(Contact, claim.contact_id)
        assert contact is not None and (contact.state, contact.final_outcome) == ("done", "lost")


def test_database_refuses_a_second_attempt_with_the_same_number(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1)
        (claim,) = claim_due_contacts(session, "w", NOW, 1)
    with factory() as session:
        original = session.get(Attempt, claim.attempt_id)
        assert original is not None
        session.add(
            Attempt(
                id="duplicate",
                contact_id=original.contact_id,
                campaign_id=original.campaign_id,
                number=original.number,
                phone=original.phone,
                flow_id=original.flow_id,
                flow_version=original.flow_version,
                claimed_by="other",
                claimed_at=NOW,
                lease_until=NOW,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_recovery_and_claims_interleaved_keep_attempt_numbers_unique(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(
            session,
            retry_policy={"lost": {"interval_s": 60, "max": 5}},
            max_attempts=6,
            max_attempts_per_day=6,
        )
        add_contacts(session, campaign.id, 5)
    now = NOW
    for _round in range(4):
        with factory() as session:
            claim_due_contacts(session, f"w{_round}", now, 10)
        now += dt.timedelta(seconds=DEFAULT_LEASE_S + 1)
        with factory() as session:
            recover_stale(session, now)
        now += dt.timedelta(seconds=61)
    with factory() as session:
        rows = session.execute(select(Attempt.contact_id, Attempt.number)).all()
        assert len(rows) == len(set(rows)) == 20
        assert (
            session.scalar(select(func.count()).select_from(Attempt).where(Attempt.status != "finished")) == 0
        )
