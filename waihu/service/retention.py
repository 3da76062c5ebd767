"""Data retention: recordings and transcripts purged, phone numbers masked, N days after a call.

Per campaign, ``retention_days`` (else the server's ``WAIHU_RETENTION_DAYS``) after an attempt ended,
its recording file is deleted (only below the recordings directory, like an erasure), its transcript
emptied, its utterances dropped from the NLU inbox and the transcript of its ``call.finished`` webhook
event emptied; the attempt keeps its outcome, grade and tags and gets ``purged_at``. ``mask_after_days``
(else ``WAIHU_MASK_AFTER_DAYS``; off when neither is set) after a call ended, its number is masked
(``138****1234``) in the attempt, in the webhook events about it and, once the contact is done, in the
contact. Every campaign where something changed gets an audit entry ``campaign.retention``.

Run by the service's background chores (:class:`waihu.service.background.Chores`); bounded (at most
``batch`` attempts and contacts per campaign and call, one short transaction per campaign) and
idempotent (purged attempts are marked, masked numbers contain ``*``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from waihu.service.audit import Actor, record_change
from waihu.service.db import begin_write
from waihu.service.masking import mask_middle
from waihu.service.models import Attempt, Campaign, Contact, NluInboxItem, WebhookEvent, utcnow
from waihu.service.recordings import recording_file

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
#: Who the audit log names for the chore's changes.
RETENTION_ACTOR = Actor(None, "waihu retention", "system", None)
#: Webhook events are written when the result is saved: within this of the attempt's end.
_EVENT_SLACK = dt.timedelta(days=1)


@dataclass(frozen=True)
class RetentionDefaults:
    """The server's defaults for campaigns without their own (None: keep / never mask)."""

    retention_days: int | None = 90
    mask_after_days: int | None = None


@dataclass
class CampaignRetention:
    """What one pass changed in one campaign (no personal data: it goes to the audit log)."""

    recordings_deleted: int = 0
    transcripts_purged: int = 0
    inbox_items_deleted: int = 0
    attempts_masked: int = 0
    contacts_masked: int = 0
    events_scrubbed: int = 0

    @property
    def changed(self) -> bool:
        """Whether anything was purged or masked."""
        return any(asdict(self).values())


@dataclass
class RetentionReport:
    """What one :func:`apply_retention` call did, by campaign id (only campaigns that changed)."""

    campaigns: dict[int, CampaignRetention] = field(default_factory=dict)


def _days(own: int | None, default: int | None) -> int | None:
    value = own if own is not None else default
    return value if value else None  # 0 from the server settings: off


def _scrub_events(
    session: Session,
    campaign_id: int,
    attempts: list[Attempt],
    change: Callable[[dict[str, Any]], bool],
    references: Iterable[str] = (),
) -> int:
    """Apply ``change`` to the payloads of the webhook events about ``attempts`` (or ``references``)."""
    if not attempts:
        return 0
    ends = [attempt.end_at for attempt in attempts if attempt.end_at is not None]
    ids = {attempt.id for attempt in attempts}
    refs = set(references)
    events = session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.campaign_id == campaign_id,
            WebhookEvent.created_at >= min(ends) - _EVENT_SLACK,
            WebhookEvent.created_at <= max(ends) + _EVENT_SLACK,
        )
    )
    scrubbed = 0
    for event in events:
        payload = dict(event.payload or {})
        about = (
            payload.get("attempt_id") in ids or event.attempt_id in ids or payload.get("reference_id") in refs
        )
        if about and change(payload):
            event.payload = payload
            scrubbed += 1
    return scrubbed


def _drop_transcript(payload: dict[str, Any]) -> bool:
    if not payload.get("transcript") and not payload.get("recording_path"):
        return False
    if "transcript" in payload:
        payload["transcript"] = []
    if "recording_path" in payload:
        payload["recording_path"] = None
    return True


def _mask_phone(payload: dict[str, Any]) -> bool:
    phone = payload.get("phone")
    if not isinstance(phone, str) or "*" in phone:
        return False
    payload["phone"] = mask_middle(phone)
    return True


def _to_purge(campaign_id: int, cutoff: dt.datetime) -> tuple[Any, ...]:
    return (Attempt.campaign_id == campaign_id, Attempt.end_at < cutoff, Attempt.purged_at.is_(None))


def _attempts_to_mask(campaign_id: int, cutoff: dt.datetime) -> tuple[Any, ...]:
    return (Attempt.campaign_id == campaign_id, Attempt.end_at < cutoff, ~Attempt.phone.contains("*"))


def _contacts_to_mask(campaign_id: int, cutoff: dt.datetime) -> tuple[Any, ...]:
    return (
        Contact.campaign_id == campaign_id,
        Contact.state == "done",  # a contact still to call needs its number
        Contact.finished_at < cutoff,
        ~Contact.phone.contains("*"),
    )


def _due(session: Session, campaign_id: int, purge: dt.datetime | None, mask: dt.datetime | None) -> bool:
    """Whether anything of the campaign is past its retention (a read: no write lock for nothing)."""
    checks: list[Select[Any]] = [select(Attempt.id).where(*_to_purge(campaign_id, purge))] if purge else []
    if mask:
        checks.append(select(Attempt.id).where(*_attempts_to_mask(campaign_id, mask)))
        checks.append(select(Contact.id).where(*_contacts_to_mask(campaign_id, mask)))
    return any(session.execute(check.limit(1)).first() is not None for check in checks)


def _oldest_attempts(session: Session, conditions: tuple[Any, ...], batch: int) -> list[Attempt]:
    """Up to ``batch`` attempts meeting ``conditions``, the longest ended first."""
    query = select(Attempt).where(*conditions).order_by(Attempt.end_at, Attempt.id).limit(batch)
    return list(session.scalars(query))


def _purge(
    session: Session, campaign: Campaign, cutoff: dt.datetime, root: Path | None, now: dt.datetime, batch: int
) -> CampaignRetention:
    """Recordings and transcripts of up to ``batch`` attempts that ended before ``cutoff``."""
    done = CampaignRetention()
    attempts = _oldest_attempts(session, _to_purge(campaign.id, cutoff), batch)
    for attempt in attempts:
        path = recording_file(attempt.recording_path, root)  # only files below the recordings directory
        if path is not None:
            path.unlink(missing_ok=True)
            done.recordings_deleted += 1
        elif attempt.recording_path:
            log.warning("recording of attempt %s is not below the recordings directory: left", attempt.id)
        if attempt.transcript:
            done.transcripts_purged += 1
        attempt.recording_path = None
        attempt.transcript = []
        attempt.purged_at = now
    if attempts:
        ids = [attempt.id for attempt in attempts]
        deleted = session.execute(delete(NluInboxItem).where(NluInboxItem.attempt_id.in_(ids)))
        done.inbox_items_deleted = int(getattr(deleted, "rowcount", 0) or 0)
        done.events_scrubbed = _scrub_events(session, campaign.id, attempts, _drop_transcript)
    return done


def _mask(
    session: Session, campaign: Campaign, cutoff: dt.datetime, batch: int, done: CampaignRetention
) -> None:
    """Mask the numbers of up to ``batch`` attempts and finished contacts older than ``cutoff``."""
    attempts = _oldest_attempts(session, _attempts_to_mask(campaign.id, cutoff), batch)
    for attempt in attempts:
        attempt.phone = mask_middle(attempt.phone) or ""
    contacts = list(
        session.scalars(
            select(Contact).where(*_contacts_to_mask(campaign.id, cutoff)).order_by(Contact.id).limit(batch)
        )
    )
    for contact in contacts:
        contact.phone = mask_middle(contact.phone) or ""
    done.attempts_masked += len(attempts)
    done.contacts_masked += len(contacts)
    references = [contact.reference_id for contact in contacts]
    done.events_scrubbed += _scrub_events(session, campaign.id, attempts, _mask_phone, references)


def apply_retention(
    session: Session,
    defaults: RetentionDefaults,
    recordings_dir: Path | None,
    now: dt.datetime | None = None,
    *,
    batch: int = DEFAULT_BATCH,
) -> RetentionReport:
    """Purge and mask what is past each campaign's retention (commits per campaign); see the module."""
    clock = now or utcnow()
    report = RetentionReport()
    for campaign in list(session.scalars(select(Campaign).order_by(Campaign.id))):
        retention = _days(campaign.retention_days, defaults.retention_days)
        mask_after = _days(campaign.mask_after_days, defaults.mask_after_days)
        purge_before = clock - dt.timedelta(days=retention) if retention is not None else None
        mask_before = clock - dt.timedelta(days=mask_after) if mask_after is not None else None
        if not _due(session, campaign.id, purge_before, mask_before):
            continue
        session.rollback()  # end the read: each campaign with work is one short write
        begin_write(session)
        done = CampaignRetention()
        if purge_before is not None:
            done = _purge(session, campaign, purge_before, recordings_dir, clock, batch)
        if mask_before is not None:
            _mask(session, campaign, mask_before, batch, done)
        if done.changed:
            record_change(
                session,
                RETENTION_ACTOR,
                "campaign.retention",
                "campaign",
                campaign.id,
                tenant=campaign.tenant,
                after={"retention_days": retention, "mask_after_days": mask_after, **asdict(done)},
                at=clock,
            )
            report.campaigns[campaign.id] = done
            log.info("retention applied to campaign %s: %s", campaign.id, asdict(done))
        session.commit()
    return report
