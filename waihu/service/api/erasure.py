"""DELETE /v1/campaigns/{id}/contacts/{reference_id}: erase a contact's personal data (right to erasure)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Request

from waihu.service.api.deps import SessionDep, Strategy
from waihu.service.api.errors import conflict
from waihu.service.api.responses import AUTH, errors
from waihu.service.api.scope import contact_of
from waihu.service.audit import record_change
from waihu.service.db import begin_write
from waihu.service.erasure import ContactBusy, erase_contact
from waihu.service.lifecycle import finish_campaign_if_done
from waihu.service.models import utcnow
from waihu.service.views import OpenModel

router = APIRouter(prefix="/v1/campaigns", tags=["contacts"], responses=errors(*AUTH))
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ReferenceId = Annotated[str, Path(min_length=1, max_length=128)]


class ContactErased(OpenModel):
    """What an erasure removed: attempts scrubbed, recordings deleted, webhook events scrubbed."""

    reference_id: str
    erased: bool
    attempts: int
    recordings_deleted: int
    events_scrubbed: int


@router.delete(
    "/{campaign_id}/contacts/{reference_id}",
    summary="Erase a contact's personal data",
    response_model=ContactErased,
    responses=errors(404, 409, 422),
)
def erase(
    campaign_id: CampaignId, reference_id: ReferenceId, request: Request, session: SessionDep, key: Strategy
) -> ContactErased:
    """Recordings, transcripts, name, variables and the phone number (masked) go; outcomes, grades
    and an audit entry stay. A pending contact is never called; one in a call answers 409."""
    begin_write(session)  # SQLite: the write lock up front, before the state is read
    campaign, contact = contact_of(session, key, campaign_id, reference_id)
    console = getattr(request.app.state, "console", None)
    recordings_dir = console.config.recordings_dir if console is not None else None
    try:
        erased = erase_contact(session, contact, recordings_dir)
    except ContactBusy as exc:
        # Read before the rollback expires the row.
        busy = {"contact": contact.reference_id, "state": contact.state}
        session.rollback()
        raise conflict("contact_busy", **busy) from exc
    record_change(
        session,
        key,
        "contact.erase",
        "contact",
        f"{campaign.id}/{reference_id}",
        tenant=campaign.tenant,
        after={"erased": True, **asdict(erased)},
    )
    finish_campaign_if_done(session, campaign, utcnow())
    session.commit()
    return ContactErased(reference_id=reference_id, erased=True, **asdict(erased))
