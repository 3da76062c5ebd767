"""/v1/campaigns: create (flow id + version must exist), get with live counters, list, pause/resume/cancel."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AnyHttpUrl, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from waihu.service.api.campaign_checks import check_routing_targets, check_times, default_frequency_cap
from waihu.service.api.deps import SessionDep, SettingsDep, Strategy
from waihu.service.api.errors import conflict, conflict_from, field_error, field_error_from
from waihu.service.api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from waihu.service.api.responses import AUTH, JSON_BODY, errors, existing
from waihu.service.api.scope import campaign_of
from waihu.service.audit import record_change
from waihu.service.campaign_rules import CampaignRules, rules_columns
from waihu.service.counters import campaign_counters
from waihu.service.lifecycle import StateConflict, change_campaign_state, resume_state
from waihu.service.models import ApiKey, Campaign, Contact, FlowVersion, utcnow
from waihu.service.outcomes import CANCELLED, CampaignState, RetryKey
from waihu.service.policy import DEFAULT_RETRY_POLICY, CallingWindow, RetryRule, zone
from waihu.service.problems import invalid
from waihu.service.views import CampaignView, OpenModel
from waihu.service.webhook_destinations import DestinationRefused, policy_from_settings
from waihu.service.webhook_secrets import MIN_SECRET_CHARS, check_webhook_secret

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], responses=errors(*AUTH))
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]

DEFAULT_WINDOWS = [
    CallingWindow(weekdays=[1, 2, 3, 4, 5, 6, 7], start="09:00", end="12:00"),
    CallingWindow(weekdays=[1, 2, 3, 4, 5, 6, 7], start="14:00", end="20:00"),
]


class CampaignCreate(CampaignRules):
    """A new campaign. Times in ``windows`` are wall-clock times in ``timezone``; the rule fields
    (start/stop times, holidays, frequency cap, routing rules, local caller numbers) can be changed
    later with ``PATCH``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    reference_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="Your id; creating it again returns it."
    )
    flow_id: str = Field(min_length=1, max_length=64)
    flow_version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Default: the latest.")
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    windows: list[CallingWindow] = Field(default=DEFAULT_WINDOWS, min_length=1, max_length=20)
    not_before: dt.date | None = None
    not_after: dt.date | None = None
    max_attempts: int = Field(default=3, ge=1, le=20)
    max_attempts_per_day: int = Field(default=2, ge=1, le=20)
    retry_policy: dict[RetryKey, RetryRule] = Field(
        default=DEFAULT_RETRY_POLICY,
        description="Per outcome; `lost_after_answer`: a call lost after the callee answered "
        "(default: none, never re-dialled).",
    )
    concurrency: int = Field(default=4, ge=1, le=10_000, description="Lines this campaign may use at once.")
    caller_numbers: list[Annotated[str, Field(pattern=r"^\+?[0-9]{3,20}$")]] = Field(
        default_factory=list, max_length=200
    )
    priority: int = Field(default=0, ge=-1000, le=1000, description="Higher is served first.")
    webhook_url: AnyHttpUrl | None = Field(
        default=None,
        max_length=2000,
        description="HTTPS, public host, no credentials (the server's allow-list may admit others).",
    )
    webhook_secret: str | None = Field(
        default=None,
        min_length=MIN_SECRET_CHARS,
        max_length=200,
        description="HMAC key, random, at least 32 characters. Default: generated and returned once.",
    )

    voicemail_action: Literal["hangup", "message"] = Field(
        default="hangup",
        description="On an answering machine (outcome `voicemail`): hang up, or say `voicemail_message` "
        "after the beep and hang up.",
    )
    voicemail_message: str | None = Field(default=None, min_length=1, max_length=500)
    seat_group: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Seat group transfers ring (default: the flow's `transfer.skill_group`).",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days an ended call keeps its recording and transcript (default: WAIHU_RETENTION_DAYS).",
    )
    mask_after_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days after a call ends before its phone number is masked in stored results "
        "(default: WAIHU_MASK_AFTER_DAYS; unset: never).",
    )

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        return None if value is None else check_webhook_secret(value)

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _check_dates(self) -> CampaignCreate:
        if self.not_before and self.not_after and self.not_before > self.not_after:
            raise invalid("not_before_after_not_after")
        if self.voicemail_action == "message" and not self.voicemail_message:
            raise invalid("voicemail_message_required")
        return self


class CampaignCounters(OpenModel):
    """Live counters: contacts by state, finished contacts by outcome and grade, lines, attempts."""

    total: int
    pending: int
    dialling: int
    in_call: int
    done: int
    done_by_outcome: dict[str, int]
    done_by_grade: dict[str, int]
    lines_in_use: int
    attempts: int


class CampaignPublic(CampaignView):
    """A campaign with its live counters."""

    counters: CampaignCounters
    webhook_secret: str = Field(
        default="", description="Only in the answer that generated the secret: shown once."
    )


class CampaignsPublic(Page[CampaignView]):
    """A page of campaigns, newest first (without counters)."""


def campaign_public(
    session: Session, campaign: Campaign, generated_secret: str | None = None
) -> CampaignPublic:
    """``campaign``'s answer: its view, its counters and, once, the webhook secret just generated."""
    shown: dict[str, Any] = {"webhook_secret": generated_secret} if generated_secret is not None else {}
    counters = CampaignCounters(**campaign_counters(session, campaign.id))
    return CampaignPublic(**CampaignView.from_row(campaign).model_dump(), counters=counters, **shown)


def _with_counters(session: SessionDep, campaign: Campaign) -> CampaignPublic:
    return campaign_public(session, campaign)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a campaign",
    response_model=CampaignPublic,
    response_model_exclude_unset=True,
    responses=errors(*JSON_BODY, 409)
    | existing("The tenant has a campaign with this reference_id: returned as it is.", CampaignPublic),
)
def create_campaign(
    body: CampaignCreate, session: SessionDep, state: SettingsDep, key: Strategy, response: Response
) -> CampaignPublic:
    """Create a campaign on an uploaded flow version; it starts in ``scheduling``.

    ``webhook_url`` must be HTTPS to a public address unless the server's settings allow more
    (``WAIHU_WEBHOOK_ALLOW_HTTP``, ``WAIHU_WEBHOOK_ALLOW``); it is checked again before each delivery.
    """
    webhook_url = str(body.webhook_url) if body.webhook_url else None
    if webhook_url is not None:
        try:
            policy_from_settings(state.settings).check_at_creation(webhook_url)
        except DestinationRefused as exc:
            raise field_error_from(["body", "webhook_url"], exc, "webhook_url_refused") from exc
    if body.reference_id is not None:
        existing = session.scalars(
            select(Campaign).where(Campaign.tenant == key.tenant, Campaign.reference_id == body.reference_id)
        ).first()
        if existing is not None:
            response.status_code = status.HTTP_200_OK
            return _with_counters(session, existing)
    query = select(FlowVersion).where(FlowVersion.tenant == key.tenant, FlowVersion.flow_id == body.flow_id)
    if body.flow_version is not None:
        query = query.where(FlowVersion.version == body.flow_version)
    flow = session.scalars(query.order_by(FlowVersion.version.desc())).first()
    if flow is None:
        if body.flow_version is not None:
            raise field_error(
                ["body", "flow_version"], "flow_has_no_version", flow=body.flow_id, version=body.flow_version
            )
        raise field_error(["body", "flow_id"], "flow_not_uploaded", flow=body.flow_id)
    check_routing_targets(session, key.tenant, body.routing_rules)
    check_times(body.start_at, body.stop_at, body.not_before, body.not_after)
    secret = body.webhook_secret
    generated = body.webhook_url is not None and secret is None
    if generated:
        secret = secrets.token_urlsafe(32)
    now = utcnow()
    campaign = Campaign(
        tenant=key.tenant,
        name=body.name,
        reference_id=body.reference_id,
        flow_version_id=flow.id,
        flow_id=flow.flow_id,
        flow_version=flow.version,
        timezone=body.timezone,
        windows=[window.model_dump() for window in body.windows],
        not_before=body.not_before,
        not_after=body.not_after,
        max_attempts=body.max_attempts,
        max_attempts_per_day=body.max_attempts_per_day,
        retry_policy={outcome: rule.model_dump() for outcome, rule in body.retry_policy.items()},
        concurrency=body.concurrency,
        caller_numbers=body.caller_numbers,
        priority=body.priority,
        webhook_url=webhook_url,
        webhook_secret=secret,
        voicemail_action=body.voicemail_action,
        voicemail_message=body.voicemail_message,
        seat_group=body.seat_group,
        retention_days=body.retention_days,
        mask_after_days=body.mask_after_days,
        **rules_columns(body) | {"frequency_cap": default_frequency_cap(body, state.settings)},
        state="scheduling",
        created_by=key.id,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    record_change(
        session,
        key,
        "campaign.create",
        "campaign",
        campaign.id,
        tenant=key.tenant,
        after=CampaignView.from_row(campaign).model_dump(),
    )
    session.commit()
    return campaign_public(session, campaign, secret if generated else None)  # a generated secret: shown once


@router.get("", summary="List campaigns", response_model=CampaignsPublic, responses=errors(422))
def list_campaigns(
    session: SessionDep,
    key: Strategy,
    state: Annotated[CampaignState | None, Query()] = None,
    flow_id: Annotated[str | None, Query(max_length=64)] = None,
    reference_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> CampaignsPublic:
    """Campaigns, newest first, filtered by state / flow / reference id; cursor-paginated."""
    query = (
        select(Campaign).where(Campaign.tenant == key.tenant).order_by(Campaign.id.desc()).limit(limit + 1)
    )
    if state:
        query = query.where(Campaign.state == state)
    if flow_id:
        query = query.where(Campaign.flow_id == flow_id)
    if reference_id:
        query = query.where(Campaign.reference_id == reference_id)
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        query = query.where(Campaign.id < last_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return CampaignsPublic(
        items=[CampaignView.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].id) if more else None,
    )


_ONE = errors(404, 422)
_CHANGE = errors(404, 409, 422)


_PUBLIC: dict[str, Any] = {"response_model": CampaignPublic, "response_model_exclude_unset": True}


@router.get("/{campaign_id}", summary="Get a campaign with live counters", responses=_ONE, **_PUBLIC)
def get_campaign(campaign_id: CampaignId, session: SessionDep, key: Strategy) -> CampaignPublic:
    """Settings, state and counters: pending / dialling / in_call / done by outcome and grade."""
    return _with_counters(session, campaign_of(session, key, campaign_id))


@router.get(
    "/{campaign_id}/counters",
    summary="Live counters of a campaign",
    response_model=CampaignCounters,
    responses=_ONE,
)
def get_counters(campaign_id: CampaignId, session: SessionDep, key: Strategy) -> CampaignCounters:
    """Only the counters (cheap enough to poll)."""
    return CampaignCounters(**campaign_counters(session, campaign_of(session, key, campaign_id).id))


def _transition(
    session: SessionDep, key: ApiKey, campaign_id: int, target: str, action: str, reason: str
) -> CampaignPublic:
    campaign = campaign_of(session, key, campaign_id)
    before = campaign.state
    now = utcnow()
    if target == "resume":
        if campaign.state != "paused":
            raise conflict("campaign_not_paused", campaign=campaign_id, state=campaign.state)
        target = resume_state(session, campaign)
    try:
        change_campaign_state(session, campaign, target, now, reason)
    except StateConflict as exc:
        raise conflict_from(exc, "campaign_state_conflict") from exc
    if target == "cancelled":
        session.execute(
            update(Contact)
            .where(Contact.campaign_id == campaign.id, Contact.state == "pending")
            .values(
                state="done", final_outcome=CANCELLED, next_attempt_at=None, finished_at=now, updated_at=now
            )
            .execution_options(synchronize_session=False)
        )
    if campaign.state != before:
        record_change(
            session,
            key,
            action,
            "campaign",
            campaign.id,
            tenant=campaign.tenant,
            before={"state": before},
            after={"state": campaign.state},
            at=now,
        )
    session.commit()
    return _with_counters(session, campaign)


@router.post("/{campaign_id}/pause", summary="Pause dialling", responses=_CHANGE, **_PUBLIC)
def pause_campaign(campaign_id: CampaignId, session: SessionDep, key: Strategy) -> CampaignPublic:
    """No new attempts start; calls in progress finish normally."""
    return _transition(session, key, campaign_id, "paused", "campaign.pause", "paused by API")


@router.post("/{campaign_id}/resume", summary="Resume a paused campaign", responses=_CHANGE, **_PUBLIC)
def resume_campaign(campaign_id: CampaignId, session: SessionDep, key: Strategy) -> CampaignPublic:
    """Back to scheduling/executing."""
    return _transition(session, key, campaign_id, "resume", "campaign.resume", "resumed by API")


@router.post("/{campaign_id}/cancel", summary="Cancel a campaign", responses=_CHANGE, **_PUBLIC)
def cancel_campaign(campaign_id: CampaignId, session: SessionDep, key: Strategy) -> CampaignPublic:
    """Pending contacts finish as ``cancelled``; calls in progress finish normally, without retries."""
    return _transition(session, key, campaign_id, "cancelled", "campaign.cancel", "cancelled by API")
