"""POST /v1/campaigns/{id}/contacts/{reference_id}/cancel: cancel one pending contact."""

from __future__ import annotations

from fastapi import APIRouter

from waihu.service.api.contacts import CampaignId, ReferenceId
from waihu.service.api.deps import SessionDep, Strategy
from waihu.service.api.errors import conflict
from waihu.service.api.responses import AUTH, errors
from waihu.service.api.scope import contact_of
from waihu.service.audit import record_change
from waihu.service.db import begin_write
from waihu.service.finishing import finish_pending
from waihu.service.lifecycle import finish_campaign_if_done
from waihu.service.models import utcnow
from waihu.service.outcomes import CANCELLED
from waihu.service.views import ContactView, masked

router = APIRouter(prefix="/v1/campaigns", tags=["contacts"], responses=errors(*AUTH))


@router.post(
    "/{campaign_id}/contacts/{reference_id}/cancel",
    summary="Cancel one pending contact",
    response_model=ContactView,
    responses=errors(404, 409, 422),
)
def cancel_contact(
    campaign_id: CampaignId, reference_id: ReferenceId, session: SessionDep, key: Strategy
) -> ContactView:
    """A pending contact is never dialled: it becomes ``done`` with ``final_outcome`` ``cancelled``
    and its ``contact.finished`` webhook is sent. A contact in a call or already done answers 409."""
    begin_write(session)  # SQLite: the write lock up front, before the state is read
    campaign, contact = contact_of(session, key, campaign_id, reference_id)
    now = utcnow()
    # Guarded by the state: a worker claiming it at this moment wins, and this answers 409.
    cancelled = finish_pending(session, campaign, [contact.id], CANCELLED, now, "cancelled by API")
    if not cancelled:
        session.rollback()
        session.refresh(contact)
        raise conflict("contact_not_pending", contact=reference_id, state=contact.state)
    contact = cancelled[0]
    record_change(
        session,
        key,
        "contact.cancel",
        "contact",
        f"{campaign.id}/{contact.reference_id}",
        tenant=campaign.tenant,
        before={"state": "pending"},
        after={"state": "done", "final_outcome": CANCELLED},
        at=now,
    )
    finish_campaign_if_done(session, campaign, now)
    session.commit()
    return masked(ContactView.from_row(contact), key.role)
