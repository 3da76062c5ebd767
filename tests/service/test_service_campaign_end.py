"""Campaigns end: contacts still pending after ``not_after`` expire and the campaign leaves scheduling."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import MONDAY_10_SHANGHAI, add_contacts, make_campaign
from waihu.call_record import CallRecord
from waihu.service.background import Chores
from waihu.service.expiry import expire_overdue
from waihu.service.models import Campaign, Contact, WebhookEvent
from waihu.service.scheduler import claim_due_contacts, record_result

NOW = MONDAY_10_SHANGHAI  # local date 2026-11-23
HOOK = {"webhook_url": "https://example.com/hook", "webhook_secret": "s" * 32}


def _events(session: Session, campaign_id: int, kind: str) -> list[WebhookEvent]:
    return list(
        session.scalars(
            select(WebhookEvent).where(WebhookEvent.campaign_id == campaign_id, WebhookEvent.type == kind)
        )
    )


def test_pending_contacts_expire_in_batches_and_the_campaign_ends(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, not_after=dt.date(2026, 11, 22), **HOOK)
        add_contacts(session, campaign.id, 5)
        other = make_campaign(session, not_after=dt.date(2026, 11, 23), **HOOK)  # still today: untouched
        add_contacts(session, other.id, 2)
        campaign_id, other_id = campaign.id, other.id
        # nothing is dialled after not_after
        assert claim_due_contacts(session, "w", NOW, 10, campaign_ids=[campaign_id]) == []
    with factory() as session:
        first = expire_overdue(session, NOW, batch=2)
    assert first.expired == 2 and first.closed == []
    with factory() as session:
        while expire_overdue(session, NOW, batch=2).expired:
            pass
    with factory() as session:
        contacts = session.scalars(select(Contact).where(Contact.campaign_id == campaign_id)).all()
        assert {(c.state, c.final_outcome) for c in contacts} == {("done", "expired")}
        assert all(c.finished_at is not None and c.next_attempt_at is None for c in contacts)
        finished = _events(session, campaign_id, "contact.finished")
        assert sorted(e.payload["reference_id"] for e in finished) == [f"c{i}" for i in range(5)]
        assert all(e.payload["final_outcome"] == "expired" for e in finished)
        assert session.get(Campaign, campaign_id).state == "succeeded"
        (changed,) = _events(session, campaign_id, "campaign.state_changed")
        assert changed.payload["from"] == "scheduling" and changed.payload["to"] == "succeeded"
        assert "not_after" in changed.payload["reason"]
        assert session.get(Campaign, other_id).state == "scheduling"
        assert {c.state for c in session.scalars(select(Contact).where(Contact.campaign_id == other_id))} == {
            "pending"
        }
    with factory() as session:  # idempotent: nothing more to do, no event twice
        again = expire_overdue(session, NOW)
        assert again.expired == 0 and again.closed == []
        assert len(_events(session, campaign_id, "contact.finished")) == 5
        assert len(_events(session, campaign_id, "campaign.state_changed")) == 1


def test_a_call_in_progress_keeps_the_campaign_open_until_it_ends(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, not_after=dt.date(2026, 11, 23), **HOOK)
        add_contacts(session, campaign.id, 3)
        campaign_id = campaign.id
        (claim,) = claim_due_contacts(session, "w", NOW, 1)
    later = NOW + dt.timedelta(days=1)  # the day after not_after
    with factory() as session:
        report = expire_overdue(session, later)
        assert report.expired == 2 and report.closed == []
        assert session.get(Campaign, campaign_id).state == "executing"
    with factory() as session:
        record_result(session, claim.attempt_id, CallRecord(outcome="no_answer", sip_code=480), later)
    with factory() as session:
        expire_overdue(session, later)
        assert session.get(Campaign, campaign_id).state == "succeeded"
        contact = session.get(Contact, claim.contact_id)
        assert contact.state == "done" and contact.final_outcome == "no_answer"  # no retry past not_after


def test_the_background_chores_expire_and_close(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session, not_after=dt.date(2020, 1, 1), **HOOK)
        add_contacts(session, campaign.id, 3)
        campaign_id = campaign.id
    chores = Chores(factory)
    try:
        chores.run_once()
    finally:
        chores.stop()
    with factory() as session:
        assert session.get(Campaign, campaign_id).state == "succeeded"
        assert {c.final_outcome for c in session.scalars(select(Contact))} == {"expired"}
