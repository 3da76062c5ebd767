"""Campaigns end: contacts still pending after the campaign's ``not_after`` (or its exact ``stop_at``)
become ``expired``, and a campaign past its end with no contact pending or in progress leaves
``scheduling``/``executing``.

Run by the service's background chores (:class:`waihu.service.background.Chores`). Idempotent (every
change is an UPDATE guarded by the current state, so two service hosts cannot expire a contact or end a
campaign twice) and bounded (at most ``batch`` contacts per call, one short transaction per campaign).
Paused campaigns are left alone until resumed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from waihu.service.db import begin_write
from waihu.service.finishing import finish_pending
from waihu.service.lifecycle import finish_campaign_if_done
from waihu.service.models import Campaign, Contact, utcnow
from waihu.service.outcomes import EXPIRED, RUNNABLE_STATES
from waihu.service.policy import Schedule

DEFAULT_BATCH = 500


@dataclass
class ExpiryReport:
    """What one :func:`expire_overdue` call did."""

    expired: int = 0
    closed: list[int] = field(default_factory=list)


def _past_end(campaign: Campaign, now: dt.datetime) -> bool:
    return Schedule.from_campaign(campaign).ended(now)  # past not_after or stop_at


def _expire_some(session: Session, campaign: Campaign, now: dt.datetime, limit: int) -> int:
    """Expire up to ``limit`` pending contacts of ``campaign`` (caller commits); returns how many."""
    query = (
        select(Contact.id)
        .where(Contact.campaign_id == campaign.id, Contact.state == "pending")
        .order_by(Contact.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return 0
    expired = finish_pending(session, campaign, ids, EXPIRED, now, f"campaign {campaign.id} ended")
    return len(expired)


def expire_overdue(
    session: Session, now: dt.datetime | None = None, *, batch: int = DEFAULT_BATCH
) -> ExpiryReport:
    """Expire pending contacts of running campaigns past their ``not_after`` and end those left with
    nothing pending or in progress (``succeeded``, with ``campaign.state_changed``); commits.

    ``not_after`` is a date on the campaign's wall clock: a campaign ends once that date is over there.
    """
    now = now or utcnow()
    report = ExpiryReport()
    # Any time zone's local date is at most one day after the UTC date: a cheap pre-filter.
    candidates = list(
        session.scalars(
            select(Campaign.id)
            .where(
                Campaign.state.in_(RUNNABLE_STATES),
                or_(
                    and_(
                        Campaign.not_after.is_not(None),
                        Campaign.not_after < now.astimezone(dt.UTC).date() + dt.timedelta(days=1),
                    ),
                    Campaign.stop_at <= now,  # an exact stop time ends it too
                ),
            )
            .order_by(Campaign.id)
        )
    )
    session.rollback()  # the writes below each start their own (writer) transaction
    for campaign_id in candidates:
        left = batch - report.expired
        if left <= 0:
            break
        begin_write(session)
        try:
            campaign = session.get(Campaign, campaign_id, populate_existing=True)
            if campaign is None or campaign.state not in RUNNABLE_STATES or not _past_end(campaign, now):
                session.rollback()
                continue
            count = _expire_some(session, campaign, now, left)
            report.expired += count
            open_left = session.scalar(
                select(exists().where(Contact.campaign_id == campaign.id, Contact.state != "done"))
            )
            stopped = campaign.stop_at is not None and now >= campaign.stop_at
            ended = f"stop_at {campaign.stop_at}" if stopped else f"not_after {campaign.not_after}"
            if not open_left and finish_campaign_if_done(session, campaign, now, f"{ended} passed"):
                report.closed.append(campaign.id)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return report
