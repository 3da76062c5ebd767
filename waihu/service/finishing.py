"""Finish pending contacts that will never be dialled (expired, frequency-capped, cancelled).

One guarded UPDATE (only contacts still ``pending`` move, so a worker claiming one at the same moment
wins) and the ``contact.finished`` webhook of each contact that did move, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from waihu.privacy import mask_phone
from waihu.service.models import Campaign, Contact
from waihu.service.views import ContactView
from waihu.service.webhooks import enqueue_event

log = logging.getLogger(__name__)


def finish_pending(
    session: Session, campaign: Campaign, ids: list[int], outcome: str, now: dt.datetime, why: str
) -> list[Contact]:
    """Move the still-pending contacts of ``ids`` to ``done`` with ``final_outcome`` ``outcome`` and
    queue their webhooks (caller commits); returns the contacts that moved, fresh from the database."""
    if not ids:
        return []
    moved = list(
        session.execute(
            update(Contact)
            .where(Contact.id.in_(ids), Contact.state == "pending")
            .values(
                state="done", final_outcome=outcome, next_attempt_at=None, finished_at=now, updated_at=now
            )
            .returning(Contact.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    contacts = list(
        session.scalars(
            select(Contact)
            .where(Contact.id.in_(moved))
            .order_by(Contact.id)
            .execution_options(populate_existing=True)
        )
    )
    for contact in contacts:
        log.info("contact %s (%s) %s: %s", contact.id, mask_phone(contact.phone), outcome, why)
        enqueue_event(session, campaign, "contact.finished", ContactView.from_row(contact), now)
    return contacts
