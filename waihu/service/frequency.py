"""The per-phone frequency cap: at most N answered calls per phone per D days across a tenant's campaigns.

Checked when contacts are claimed (:func:`apply_frequency_cap`). A contact whose phone reached its
campaign's cap is *deferred* (stays pending, due when the cap allows the next call, inside the calling
windows), or, when that moment is past the campaign's end, finished as ``frequency_capped`` with its
``contact.finished`` webhook. Calls still in progress count as answered (a conservative guess until they
end), so concurrent claims in several campaigns cannot go over the cap: on PostgreSQL a claimer takes
a per-phone advisory lock (``pg_try_advisory_xact_lock``; a phone another claimer holds is skipped this
time, never waited for, so no deadlock), on SQLite the claim is the only writer anyway. The cap counts
only the tenant's own campaigns: another tenant's calls must not be observable.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.orm import Session

from waihu.privacy import mask_phone
from waihu.service.finishing import finish_pending
from waihu.service.lifecycle import finish_campaign_if_done
from waihu.service.models import Attempt, Campaign, Contact
from waihu.service.outcomes import FREQUENCY_CAPPED, IN_PROGRESS
from waihu.service.policy import Schedule

log = logging.getLogger(__name__)

#: First key of the per-phone advisory locks ("wfrq").
_CAP_LOCK = 0x77667271
#: A phone capped only by calls still in progress is looked at again this much later.
RECHECK_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Cap:
    """A campaign's cap: ``max_answered`` answered calls per ``days`` days."""

    max_answered: int
    days: int

    @classmethod
    def of(cls, campaign: Campaign) -> Cap | None:
        """The campaign's cap, or None when it has none."""
        raw = campaign.frequency_cap
        if not raw:
            return None
        return cls(int(raw["max_answered"]), int(raw.get("days", 7)))


def allowed_at(
    answers: list[dt.datetime], in_progress: int, cap: Cap, now: dt.datetime
) -> dt.datetime | None:
    """When the next call to a phone is allowed, given its answer times within the cap's period and its
    calls in progress; None: now."""
    if len(answers) >= cap.max_answered:
        # The oldest answer that must leave the period for one more call to fit.
        return sorted(answers)[len(answers) - cap.max_answered] + dt.timedelta(days=cap.days)
    if len(answers) + in_progress >= cap.max_answered:
        return now + RECHECK_AFTER
    return None


def _lock_phone(session: Session, tenant: str, phone: str) -> bool:
    key = zlib.crc32(f"{tenant}\0{phone}".encode()) - 2**31  # signed int4
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:a, :b)"), {"a": _CAP_LOCK, "b": key}))


def _usage(
    session: Session, tenant: str, phones: list[str], since: dt.datetime
) -> tuple[dict[str, list[dt.datetime]], dict[str, int]]:
    """Per phone: answer times after ``since`` (a call answered exactly D days ago has left the period)
    and the number of unanswered calls in progress.

    One statement, so one snapshot: with two, a call answered between them would be in neither.
    """
    answers: dict[str, list[dt.datetime]] = {}
    ringing: dict[str, int] = {}
    for phone, answer_at in session.execute(
        select(Attempt.phone, Attempt.answer_at).where(
            Attempt.phone.in_(phones),
            Attempt.campaign_id.in_(select(Campaign.id).where(Campaign.tenant == tenant)),
            or_(
                Attempt.answer_at > since,
                and_(Attempt.status.in_(IN_PROGRESS), Attempt.answer_at.is_(None)),
            ),
        )
    ):
        if answer_at is None:
            ringing[phone] = ringing.get(phone, 0) + 1
        else:
            answers.setdefault(phone, []).append(answer_at)
    return answers, ringing


def apply_frequency_cap(
    session: Session, campaign: Campaign, ids: list[int], schedule: Schedule, now: dt.datetime
) -> list[int]:
    """The ids of ``ids`` (due contacts of ``campaign``) that may be dialled now; the others are deferred
    or finished as ``frequency_capped`` (caller commits). Without a cap every id is returned."""
    cap = Cap.of(campaign)
    if cap is None or not ids:
        return ids
    phones = dict(session.execute(select(Contact.id, Contact.phone).where(Contact.id.in_(ids))).all())
    postgres = session.get_bind().dialect.name == "postgresql"
    usable = [cid for cid in ids if not postgres or _lock_phone(session, campaign.tenant, phones[cid])]
    answers, ringing = _usage(
        session, campaign.tenant, sorted({phones[cid] for cid in usable}), now - dt.timedelta(days=cap.days)
    )
    allowed: list[int] = []
    taken: dict[str, int] = {}  # one batch may hold the same phone only once per free slot
    finished: list[int] = []
    for cid in usable:
        phone = phones[cid]
        when = allowed_at(answers.get(phone, []), ringing.get(phone, 0) + taken.get(phone, 0), cap, now)
        if when is None:
            allowed.append(cid)
            taken[phone] = taken.get(phone, 0) + 1
            continue
        due = schedule.next_open(when)
        if due is None:
            finished.append(cid)
            continue
        session.execute(
            update(Contact)
            .where(Contact.id == cid, Contact.state == "pending")
            .values(next_attempt_at=due, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        log.info(
            "contact %s (%s) deferred by the frequency cap to %s", cid, mask_phone(phone), due.isoformat()
        )
    if finished:
        _finish_capped(session, campaign, finished, now)
    return allowed


def _finish_capped(session: Session, campaign: Campaign, ids: list[int], now: dt.datetime) -> None:
    done = finish_pending(session, campaign, ids, FREQUENCY_CAPPED, now, "frequency cap, no window left")
    if done:
        finish_campaign_if_done(session, campaign, now)
