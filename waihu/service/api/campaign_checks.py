"""Checks of campaign rules that need the database or the settings (shared by create and PATCH)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from waihu.service.api.errors import field_error
from waihu.service.campaign_rules import CampaignRules, RoutingRule
from waihu.service.models import Campaign
from waihu.service.settings import Settings


def check_routing_targets(
    session: Session, tenant: str, rules: list[RoutingRule], campaign_id: int | None = None
) -> None:
    """Every ``route`` rule must name another campaign of ``tenant`` that still takes contacts; 422
    naming ``routing_rules.<i>.campaign_id`` otherwise (another tenant's campaign reads as missing)."""
    for index, rule in enumerate(rules):
        if rule.action != "route" or rule.campaign_id is None:
            continue
        loc = ["body", "routing_rules", index, "campaign_id"]
        target = session.get(Campaign, rule.campaign_id)
        if target is None or target.tenant != tenant:
            raise field_error(loc, "campaign_not_found", campaign=rule.campaign_id)
        if target.id == campaign_id:
            raise field_error(loc, "route_to_itself")
        if target.state in ("cancelled", "failed"):
            raise field_error(loc, "route_target_closed", campaign=target.id, state=target.state)


def check_times(start_at: Any, stop_at: Any, not_before: Any, not_after: Any) -> None:
    """Start before stop and not_before not after not_after; 422 naming the later field otherwise."""
    if start_at is not None and stop_at is not None and start_at >= stop_at:
        raise field_error(["body", "stop_at"], "stop_not_after_start")
    if not_before is not None and not_after is not None and not_before > not_after:
        raise field_error(["body", "not_after"], "not_before_after_not_after")


def default_frequency_cap(rules: CampaignRules, settings: Settings) -> dict[str, Any] | None:
    """The cap a new campaign gets: its own (``null``: none) or, left out, the server's default."""
    if "frequency_cap" in rules.model_fields_set:
        return rules.frequency_cap.model_dump() if rules.frequency_cap else None
    if settings.frequency_cap is None:
        return None
    max_answered, days = settings.frequency_cap
    return {"max_answered": max_answered, "days": days}
