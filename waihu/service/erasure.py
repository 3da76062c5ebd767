"""Right to erasure: wipe what waihu holds about one contact, keeping only counts and an audit trace.

Erased: the recordings (files below the recordings directory), transcripts and traces of every attempt
(and its utterances in the NLU inbox),
the contact's name and variables, and its phone number (replaced by its masked form in the contact, its
attempts and the bodies of its undelivered webhook events). Kept: the contact's ``reference_id`` (so a
re-import does not recreate it), outcomes and grades (campaign statistics), and the audit entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from waihu.service.masking import mask_middle
from waihu.service.models import Attempt, Contact, NluInboxItem, WebhookEvent, utcnow
from waihu.service.outcomes import IN_PROGRESS
from waihu.service.recordings import recording_file

log = logging.getLogger(__name__)
#: The final outcome of a contact erased before it was called.
ERASED = "erased"


class ContactBusy(Exception):
    """The contact is in a call: it can be erased once the call has ended."""


@dataclass(frozen=True)
class Erased:
    """What an erasure removed (no personal data: this goes to the audit log)."""

    attempts: int
    recordings_deleted: int
    events_scrubbed: int


def erase_contact(session: Session, contact: Contact, recordings_dir: Path | None) -> Erased:
    """Erase ``contact``'s personal data (caller commits); :class:`ContactBusy` while it is in a call."""
    if contact.state in IN_PROGRESS:
        raise ContactBusy(f"contact {contact.reference_id!r} is {contact.state}")
    now = utcnow()
    masked = mask_middle(contact.phone) or ""
    attempts = list(session.scalars(select(Attempt).where(Attempt.contact_id == contact.id)))
    deleted = 0
    for attempt in attempts:
        path = recording_file(attempt.recording_path, recordings_dir)  # only files below the directory
        if path is not None:
            path.unlink(missing_ok=True)
            deleted += 1
        attempt.recording_path = None
        attempt.transcript = []
        attempt.phone = mask_middle(attempt.phone) or ""
    scrubbed = 0
    ids = [attempt.id for attempt in attempts]
    # What the callee said also sits in the NLU inbox (one row per unclassified utterance).
    session.execute(delete(NluInboxItem).where(NluInboxItem.attempt_id.in_(ids)))
    pending = session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.campaign_id == contact.campaign_id, WebhookEvent.delivered_at.is_(None)
        )
    )
    for event in pending:
        payload = dict(event.payload or {})
        if payload.get("attempt_id") in ids or payload.get("reference_id") == contact.reference_id:
            for field in ("phone", "text", "transcript", "variables", "name"):
                if field in payload:
                    payload[field] = masked if field == "phone" else None
            event.payload = payload
            scrubbed += 1
    if contact.state == "pending":
        contact.state, contact.final_outcome, contact.finished_at = "done", ERASED, now
        contact.next_attempt_at = None
    contact.phone = masked
    contact.name = ""
    contact.variables = {}
    contact.updated_at = now
    log.info("contact %s of campaign %s erased (%d attempts)", contact.id, contact.campaign_id, len(attempts))
    return Erased(len(attempts), deleted, scrubbed)
