"""PATCH /v1/campaigns/{id}: change a campaign's rules after creation (validated, audited).

Only the fields sent change; ``null`` clears a field that may be empty (dates, start/stop times,
webhook, frequency cap). The scheduler reads the campaign row at every claim, so a change applies from
the next claim on; calls in progress are not touched.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import AnyHttpUrl, ConfigDict, Field, field_validator

from waihu.service.api.campaign_checks import check_routing_targets, check_times
from waihu.service.api.campaigns import CampaignPublic, campaign_public
from waihu.service.api.deps import SessionDep, SettingsDep, Strategy
from waihu.service.api.errors import conflict, field_error, field_error_from
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.api.scope import campaign_of
from waihu.service.audit import record_change
from waihu.service.campaign_rules import CallerNumber, CampaignRules, rules_columns
from waihu.service.models import utcnow
from waihu.service.outcomes import RetryKey
from waihu.service.policy import CallingWindow, RetryRule
from waihu.service.views import CampaignView
from waihu.service.webhook_destinations import DestinationRefused, policy_from_settings
from waihu.service.webhook_secrets import MIN_SECRET_CHARS, check_webhook_secret

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], responses=errors(*AUTH))
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]

#: Fields that must have a value: ``null`` is refused (422 naming the field).
NOT_NULL = frozenset(
    {
        "name",
        "concurrency",
        "windows",
        "priority",
        "max_attempts",
        "max_attempts_per_day",
        "retry_policy",
        "caller_numbers",
        "holidays",
        "holiday_calendars",
        "routing_rules",
        "caller_numbers_by_region",
    }
)
#: Campaigns in these states are over for good: nothing to change.
_FINAL = ("cancelled", "failed")


class CampaignUpdate(CampaignRules):
    """The fields to change; any field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    concurrency: int | None = Field(default=None, ge=1, le=10_000)
    windows: list[CallingWindow] | None = Field(default=None, min_length=1, max_length=20)
    not_before: dt.date | None = None
    not_after: dt.date | None = None
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    max_attempts_per_day: int | None = Field(default=None, ge=1, le=20)
    retry_policy: dict[RetryKey, RetryRule] | None = None
    caller_numbers: list[CallerNumber] | None = Field(default=None, max_length=200)
    webhook_url: AnyHttpUrl | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, min_length=MIN_SECRET_CHARS, max_length=200)
    seat_group: str | None = Field(
        default=None, min_length=1, max_length=64, description="null: the flow's `transfer.skill_group`."
    )
    retention_days: int | None = Field(
        default=None, ge=1, le=3650, description="null: the server's WAIHU_RETENTION_DAYS."
    )
    mask_after_days: int | None = Field(
        default=None, ge=1, le=3650, description="null: the server's WAIHU_MASK_AFTER_DAYS."
    )

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        return None if value is None else check_webhook_secret(value)


def _plain_values(body: CampaignUpdate, fields: set[str]) -> dict[str, Any]:
    """Column values of the non-rule fields sent."""
    values: dict[str, Any] = {}
    for name in fields - set(CampaignRules.model_fields) - {"webhook_url", "webhook_secret"}:
        value = getattr(body, name)
        if name == "windows":
            value = [window.model_dump() for window in value]
        elif name == "retry_policy":
            value = {outcome: rule.model_dump() for outcome, rule in value.items()}
        values[name] = value
    return values


@router.patch(
    "/{campaign_id}",
    summary="Change a campaign's rules",
    response_model=CampaignPublic,
    response_model_exclude_unset=True,
    responses=errors(*JSON_BODY, 404, 409),
)
def patch_campaign(
    campaign_id: CampaignId, body: CampaignUpdate, session: SessionDep, state: SettingsDep, key: Strategy
) -> CampaignPublic:
    """Change concurrency, calling windows, dates (``not_before``/``not_after``), exact ``start_at`` /
    ``stop_at``, holidays, priority, attempt limits, retry policy, frequency cap, routing rules, caller
    numbers (also by region), the webhook or the data retention (``retention_days``,
    ``mask_after_days``; null: the server's defaults). Applies from the scheduler's next claim. A cancelled or
    failed campaign answers 409. Setting a ``webhook_url`` on a campaign without a secret generates
    one, returned once in ``webhook_secret``.
    """
    campaign = campaign_of(session, key, campaign_id)
    if campaign.state in _FINAL:
        raise conflict("campaign_unchangeable", campaign=campaign_id, state=campaign.state)
    fields = set(body.model_fields_set)
    for name in sorted(fields & NOT_NULL):
        if getattr(body, name) is None:
            raise field_error(["body", name], "field_not_nullable")
    if "routing_rules" in fields:
        check_routing_targets(session, key.tenant, body.routing_rules, campaign.id)
    merged = {
        name: getattr(body, name) if name in fields else getattr(campaign, name)
        for name in ("start_at", "stop_at", "not_before", "not_after")
    }
    check_times(merged["start_at"], merged["stop_at"], merged["not_before"], merged["not_after"])
    values = _plain_values(body, fields) | rules_columns(body, fields & set(CampaignRules.model_fields))
    generated = None
    if "webhook_url" in fields:
        url = str(body.webhook_url) if body.webhook_url is not None else None
        if url is not None:
            try:
                policy_from_settings(state.settings).check_at_creation(url)
            except DestinationRefused as exc:
                raise field_error_from(["body", "webhook_url"], exc, "webhook_url_refused") from exc
            if campaign.webhook_secret is None and body.webhook_secret is None:
                generated = secrets.token_urlsafe(32)
                values["webhook_secret"] = generated
        values["webhook_url"] = url
    if body.webhook_secret is not None:
        values["webhook_secret"] = body.webhook_secret
    before = CampaignView.from_row(campaign).model_dump()
    secret_before = campaign.webhook_secret
    for name, value in values.items():
        setattr(campaign, name, value)
    after = CampaignView.from_row(campaign).model_dump()
    changed = sorted(name for name in after if after[name] != before[name])
    if campaign.webhook_secret != secret_before:
        changed.append("webhook_secret")
    if changed:
        now = utcnow()
        campaign.updated_at = now
        session.flush()
        record_change(
            session,
            key,
            "campaign.update",
            "campaign",
            campaign.id,
            tenant=campaign.tenant,
            before={name: before.get(name, secret_before) for name in changed},
            after={name: after.get(name, campaign.webhook_secret) for name in changed},
            at=now,
        )
    session.commit()
    return campaign_public(session, campaign, generated)  # a generated secret: shown once
