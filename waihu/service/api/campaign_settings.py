"""Saving a change to one of a campaign's settings (A/B variants, post-call actions): stamp, audit, commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from waihu.service.audit import record_change
from waihu.service.models import ApiKey, Campaign, utcnow


def save_setting(
    session: Session,
    key: ApiKey,
    campaign: Campaign,
    action: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Commit the change already made to ``campaign`` with an audit entry ``action`` (before/after)."""
    campaign.updated_at = utcnow()
    record_change(
        session, key, action, "campaign", campaign.id, tenant=campaign.tenant, before=before, after=after
    )
    session.commit()
