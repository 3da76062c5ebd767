"""Campaign state changes (each one emits ``campaign.state_changed``) and contact finishing."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from waihu.service.models import Campaign, Contact
from waihu.service.outcomes import TERMINAL_STATES
from waihu.service.problems import sentence
from waihu.service.webhooks import enqueue_event

log = logging.getLogger(__name__)

#: Which states each campaign action may start from.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "paused": ("scheduling", "executing"),
    "executing": ("scheduling", "paused", "succeeded"),
    "cancelled": ("scheduling", "executing", "paused"),
    "succeeded": ("scheduling", "executing"),
    "failed": ("scheduling", "executing", "paused"),
    "scheduling": ("paused",),
}


class StateConflict(Exception):
    """The campaign is not in a state the change can start from."""


def change_campaign_state(
    session: Session, campaign: Campaign, new_state: str, now: dt.datetime, reason: str = ""
) -> None:
    """Move ``campaign`` to ``new_state`` with a guarded UPDATE and queue the event; raise on conflict."""
    old_state = campaign.state
    if old_state == new_state:
        return
    if old_state not in TRANSITIONS.get(new_state, ()):
        raise StateConflict(
            sentence("campaign_transition_refused", campaign=campaign.id, state=old_state, target=new_state)
        )
    changed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.state == old_state)
        .values(state=new_state, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(campaign)
        raise StateConflict(
            sentence("campaign_changed_concurrently", campaign=campaign.id, state=campaign.state)
        )
    campaign.state = new_state
    campaign.updated_at = now
    log.info("campaign %s: %s -> %s %s", campaign.id, old_state, new_state, reason)
    enqueue_event(
        session,
        campaign,
        "campaign.state_changed",
        {"campaign_id": campaign.id, "from": old_state, "to": new_state, "reason": reason},
        now,
    )


def resume_state(session: Session, campaign: Campaign) -> str:
    """The state a paused campaign goes back to: executing once it has dialled, scheduling otherwise."""
    from waihu.service.models import Attempt

    dialled = session.scalar(select(exists().where(Attempt.campaign_id == campaign.id)))
    return "executing" if dialled else "scheduling"


def finish_campaign_if_done(
    session: Session, campaign: Campaign, now: dt.datetime, reason: str = "every contact is done"
) -> bool:
    """Mark a running campaign succeeded when it has contacts and every one of them is done."""
    if campaign.state in TERMINAL_STATES or campaign.state == "paused":
        return False
    # Serialise finishers on the campaign row (PostgreSQL; SQLite has one writer anyway) so that two
    # workers finishing the last two contacts at once cannot both miss each other's commit.
    session.execute(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
    session.refresh(campaign)
    if campaign.state in TERMINAL_STATES or campaign.state == "paused":
        return False
    open_left = session.scalar(
        select(exists().where(Contact.campaign_id == campaign.id, Contact.state != "done"))
    )
    if open_left:
        return False
    change_campaign_state(session, campaign, "succeeded", now, reason)
    return True
