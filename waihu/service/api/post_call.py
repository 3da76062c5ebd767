"""/v1/campaigns/{id}/post-call: the campaign's post-call actions (挂机短信) — endpoint, secret, rules.

The endpoint must pass the webhook destination policy (public HTTPS unless the server's allow-list
admits more), checked here and again before each delivery. The secret signs every ``notify`` event
(``X-Waihu-Signature``, as webhooks); without one, a random secret is generated and shown once.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from waihu.service.api.campaign_settings import save_setting
from waihu.service.api.deps import SessionDep, SettingsDep, Strategy
from waihu.service.api.errors import field_error, field_error_from
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.api.scope import campaign_of
from waihu.service.models import Campaign
from waihu.service.post_call import PostCallRule
from waihu.service.views import PublicModel
from waihu.service.webhook_destinations import DestinationRefused, policy_from_settings, redact_url
from waihu.service.webhook_secrets import MIN_SECRET_CHARS, check_webhook_secret

router = APIRouter(prefix="/v1/campaigns", tags=["post-call actions"], responses=errors(*AUTH, 404, 422))
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class PostCallUpdate(BaseModel):
    """Where notify events go, how they are signed, and the rules that send them."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(max_length=2000, description="The SMS gateway or notification endpoint.")
    secret: str | None = Field(
        default=None,
        min_length=MIN_SECRET_CHARS,
        max_length=200,
        description="Default: generated, shown once.",
    )
    rules: list[PostCallRule] = Field(
        default_factory=list, max_length=20, description="Added to the flow's own `post_call:` actions."
    )

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        return None if value is None else check_webhook_secret(value)


class PostCallPublic(PublicModel):
    """The campaign's post-call endpoint (without credentials) and rules; never the secret, except once."""

    campaign_id: int
    url: str | None = Field(description="Null: no post-call actions.")
    rules: list[dict[str, Any]]
    secret: str = Field(default="", description="Only in the answer that generated it: shown once.")


def _view(campaign: Campaign) -> dict[str, Any]:
    config = campaign.post_call or {}
    return {
        "campaign_id": campaign.id,
        "url": redact_url(config.get("url")),
        "rules": list(config.get("rules") or []),
    }


@router.get(
    "/{campaign_id}/post-call",
    summary="The campaign's post-call actions",
    response_model=PostCallPublic,
    response_model_exclude_unset=True,
)
def get_post_call(campaign_id: CampaignId, session: SessionDep, key: Strategy) -> PostCallPublic:
    """Endpoint and rules (never the secret); ``url`` null: no post-call actions."""
    return PostCallPublic(**_view(campaign_of(session, key, campaign_id)))


@router.put(
    "/{campaign_id}/post-call",
    summary="Set the post-call actions",
    response_model=PostCallPublic,
    response_model_exclude_unset=True,
    responses=errors(*JSON_BODY),
)
def put_post_call(
    campaign_id: CampaignId, body: PostCallUpdate, session: SessionDep, state: SettingsDep, key: Strategy
) -> PostCallPublic:
    """Replace the endpoint and rules; calls recorded from now on are matched against them."""
    campaign = campaign_of(session, key, campaign_id)
    url = str(body.url)
    try:
        policy_from_settings(state.settings).check_at_creation(url)
    except DestinationRefused as exc:
        raise field_error_from(["body", "url"], exc, "webhook_url_refused") from exc
    names = [rule.name for rule in body.rules]
    if len(set(names)) != len(names):
        raise field_error(["body", "rules"], "rule_names_not_distinct")
    secret = body.secret or secrets.token_urlsafe(32)
    before = _view(campaign)
    campaign.post_call = {
        "url": url,
        "secret": secret,
        "rules": [rule.model_dump(mode="json") for rule in body.rules],
    }
    save_setting(session, key, campaign, "campaign.post_call", before, _view(campaign))
    shown: dict[str, Any] = {"secret": secret} if body.secret is None else {}  # generated: shown once
    return PostCallPublic(**_view(campaign), **shown)


@router.delete(
    "/{campaign_id}/post-call",
    summary="Remove the post-call actions",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
def delete_post_call(campaign_id: CampaignId, session: SessionDep, key: Strategy) -> Response:
    """No more notify events for calls recorded from now on (queued ones are still delivered)."""
    campaign = campaign_of(session, key, campaign_id)
    if campaign.post_call:
        before = _view(campaign)
        campaign.post_call = None
        save_setting(session, key, campaign, "campaign.post_call_remove", before, None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
