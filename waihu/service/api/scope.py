"""Tenant scoping of the API: a key reaches only its own tenant's rows; anything else is a 404.

The 404 of another tenant's campaign is word for word the 404 of a campaign that does not exist, so a
key cannot probe which ids other tenants have.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from waihu.service.api.errors import not_found
from waihu.service.models import ApiKey, Attempt, Campaign, Contact


def campaign_of(session: Session, key: ApiKey, campaign_id: int) -> Campaign:
    """Campaign ``campaign_id`` if it belongs to ``key``'s tenant, else 404."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant != key.tenant:
        raise not_found("campaign_not_found", campaign=campaign_id)
    return campaign


def contact_of(
    session: Session, key: ApiKey, campaign_id: int, reference_id: str
) -> tuple[Campaign, Contact]:
    """The campaign and its contact ``reference_id`` if the campaign is ``key``'s tenant's, else 404."""
    campaign = campaign_of(session, key, campaign_id)
    contact = session.scalars(
        select(Contact).where(Contact.campaign_id == campaign.id, Contact.reference_id == reference_id)
    ).first()
    if contact is None:
        raise not_found("contact_not_found", contact=reference_id, campaign=campaign_id)
    return campaign, contact


def campaign_ids(tenant: str) -> Select[Any]:
    """The ids of ``tenant``'s campaigns (a subquery for ``IN``)."""
    return select(Campaign.id).where(Campaign.tenant == tenant)


def attempt_of(session: Session, key: ApiKey, attempt_id: str) -> Attempt:
    """Attempt ``attempt_id`` if its campaign belongs to ``key``'s tenant, else 404."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is not None:
        campaign = session.get(Campaign, attempt.campaign_id)
        if campaign is not None and campaign.tenant == key.tenant:
            return attempt
    raise not_found("attempt_not_found", attempt=attempt_id)
