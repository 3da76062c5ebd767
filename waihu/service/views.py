"""Typed JSON shapes of results, contacts and campaigns, shared by the HTTP API and the webhook payloads.

One Pydantic model per shape (``AttemptView``, ``ContactView``, ``CampaignView``) built from its row by
``from_row``; the API declares them as ``response_model`` and webhooks send their ``model_dump()``. The
field names are a contract with strategy systems and the console: add fields, never rename them.
Timestamps stay ISO 8601 strings in UTC with a ``Z`` (as :func:`iso` writes them), so the JSON is the
same whoever renders it.
"""

from __future__ import annotations

from typing import Annotated, Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from waihu.call_record import iso, seconds_between
from waihu.service.masking import mask_middle, sees_full_numbers
from waihu.service.models import Attempt, Campaign, Contact
from waihu.service.webhook_destinations import redact_url

#: A UTC time as the API writes it: ``2026-01-01T09:00:00.123456Z``.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
#: A calendar date: ``2026-01-01``.
DateText = Annotated[str, Field(json_schema_extra={"format": "date"})]


class PublicModel(BaseModel):
    """Base of the API's answer models built field by field: an unknown field is a bug, not data."""

    model_config = ConfigDict(extra="forbid")


class OpenModel(BaseModel):
    """Base of answer models validated from another module's dict: keys it adds later pass through."""

    model_config = ConfigDict(extra="allow")


M = TypeVar("M", bound=BaseModel)


def masked(view: M, role: str, fields: tuple[str, ...] = ("phone",)) -> M:
    """``view`` with its phone ``fields`` masked unless ``role`` sees full numbers (a copy; the same
    fields stay set, so answers that leave unset fields out still do)."""
    if sees_full_numbers(role):
        return view
    changes = {
        name: mask_middle(getattr(view, name)) for name in fields if isinstance(getattr(view, name), str)
    }
    return view.model_copy(update=changes)


class AttemptView(PublicModel):
    """One attempt's result: outcome, SIP code, who hung up, times, duration, grade, tags, trace."""

    attempt_id: str
    attempt_number: int
    is_retry: bool
    campaign_id: int
    contact_id: int
    reference_id: str | None
    phone: str = Field(description="Masked (`138****1234`) for operators.")
    caller_number: str | None
    caller_region: str | None
    flow_id: str
    flow_version: int
    variant: str | None
    status: str
    outcome: str | None
    sip_code: int | None
    sip_reason: str | None
    hangup_by: str | None
    hangup_reason: str | None
    carrier_announcement: str | None
    claimed_at: Timestamp | None
    started_at: Timestamp | None
    ring_at: Timestamp | None
    answer_at: Timestamp | None
    end_at: Timestamp | None
    ring_s: float | None
    duration_s: float
    rounds: int
    grade: str | None
    grade_label: str
    tags: list[Any]
    kb_hits: list[Any]
    recording_path: str | None
    # The hand-off to a seat (migration 0009; None when the call was not transferred).
    transfer_seat_id: int | None = Field(description="The seat that answered, else the last one rung.")
    transfer_seat_uri: str | None
    transfer_seats_tried: int | None = Field(description="Seats rung for this call.")
    transfer_ring_ms: int | None = Field(description="How long the seats rang in all before the answer.")
    transfer_answered: bool | None = Field(description="A seat took the call.")
    transfer_talk_s: float | None = Field(description="Time the callee talked with the seat.")
    transfer_hangup_by: str | None = Field(description="Who ended the call with the seat.")
    transcript: list[Any] = Field(
        default_factory=list, description="Turns of the call; present when asked for (results: `transcript`)."
    )

    @classmethod
    def from_row(
        cls, attempt: Attempt, contact: Contact | None = None, *, with_transcript: bool = True
    ) -> Self:
        """The view of ``attempt`` (``contact`` gives the reference id); no transcript unless asked."""
        extra: dict[str, Any] = {"transcript": list(attempt.transcript or [])} if with_transcript else {}
        return cls(
            attempt_id=attempt.id,
            attempt_number=attempt.number,
            is_retry=attempt.number > 1,
            campaign_id=attempt.campaign_id,
            contact_id=attempt.contact_id,
            reference_id=contact.reference_id if contact is not None else None,
            phone=attempt.phone,
            caller_number=attempt.caller_number,
            caller_region=attempt.caller_region,
            flow_id=attempt.flow_id,
            flow_version=attempt.flow_version,
            variant=attempt.variant,
            status=attempt.status,
            outcome=attempt.outcome,
            sip_code=attempt.sip_code,
            sip_reason=attempt.sip_reason,
            hangup_by=attempt.hangup_by,
            hangup_reason=attempt.hangup_reason,
            carrier_announcement=attempt.carrier_announcement,
            claimed_at=iso(attempt.claimed_at),
            started_at=iso(attempt.started_at),
            ring_at=iso(attempt.ring_at),
            answer_at=iso(attempt.answer_at),
            end_at=iso(attempt.end_at),
            ring_s=seconds_between(attempt.ring_at, attempt.answer_at or attempt.end_at),
            duration_s=seconds_between(attempt.answer_at, attempt.end_at) or 0.0,
            rounds=attempt.rounds,
            grade=attempt.grade,
            grade_label=attempt.grade_label,
            tags=list(attempt.tags or []),
            kb_hits=list(attempt.kb_hits or []),
            recording_path=attempt.recording_path,
            transfer_seat_id=attempt.transfer_seat_id,
            transfer_seat_uri=attempt.transfer_seat_uri,
            transfer_seats_tried=attempt.transfer_seats_tried,
            transfer_ring_ms=attempt.transfer_ring_ms,
            transfer_answered=attempt.transfer_answered,
            transfer_talk_s=attempt.transfer_talk_s,
            transfer_hangup_by=attempt.transfer_hangup_by,
            **extra,
        )


class ContactView(PublicModel):
    """A contact's current state and final result."""

    id: int
    campaign_id: int
    reference_id: str
    phone: str = Field(description="Masked (`138****1234`) for operators.")
    name: str
    variables: dict[str, Any]
    state: str
    next_attempt_at: Timestamp | None
    attempts: int
    last_attempt_id: str | None
    last_outcome: str | None
    final_outcome: str | None
    grade: str | None
    grade_label: str
    tags: list[Any]
    regraded_at: Timestamp | None
    variant: str | None
    created_at: Timestamp | None
    finished_at: Timestamp | None
    routed_to_contact_id: int | None
    routed_from_contact_id: int | None

    @classmethod
    def from_row(cls, contact: Contact) -> Self:
        """The view of ``contact``."""
        return cls(
            id=contact.id,
            campaign_id=contact.campaign_id,
            reference_id=contact.reference_id,
            phone=contact.phone,
            name=contact.name,
            variables=dict(contact.variables or {}),
            state=contact.state,
            next_attempt_at=iso(contact.next_attempt_at) if contact.state == "pending" else None,
            attempts=contact.attempts_total,
            last_attempt_id=contact.last_attempt_id,
            last_outcome=contact.last_outcome,
            final_outcome=contact.final_outcome,
            grade=contact.final_grade,
            grade_label=contact.grade_label,
            tags=list(contact.tags or []),
            regraded_at=iso(contact.regraded_at),
            variant=contact.variant,
            created_at=iso(contact.created_at),
            finished_at=iso(contact.finished_at),
            routed_to_contact_id=contact.routed_to_contact_id,
            routed_from_contact_id=contact.routed_from_contact_id,
        )


class CampaignView(PublicModel):
    """A campaign's settings and state (never its webhook secret)."""

    id: int
    name: str
    reference_id: str | None
    flow_id: str
    flow_version: int
    timezone: str
    windows: list[Any]
    not_before: DateText | None
    not_after: DateText | None
    max_attempts: int
    max_attempts_per_day: int
    retry_policy: dict[str, Any]
    concurrency: int
    caller_numbers: list[Any]
    priority: int
    webhook_url: str | None = Field(description="Without credentials.")
    start_at: Timestamp | None
    stop_at: Timestamp | None
    holidays: list[Any]
    holiday_calendars: list[Any]
    frequency_cap: dict[str, Any] | None
    routing_rules: list[Any]
    caller_numbers_by_region: dict[str, Any]
    variants: list[Any] | None
    voicemail_action: str
    voicemail_message: str | None
    seat_group: str | None = Field(
        default=None, description="Seat group transfers go to (None: the flow's `transfer.skill_group`)."
    )
    retention_days: int | None = Field(
        default=None, description="Days recordings and transcripts are kept (None: the server's default)."
    )
    mask_after_days: int | None = Field(
        default=None, description="Days before phone numbers are masked in results (None: the server's)."
    )
    state: str
    created_at: Timestamp | None
    updated_at: Timestamp | None

    @classmethod
    def from_row(cls, campaign: Campaign) -> Self:
        """The view of ``campaign``."""
        return cls(
            id=campaign.id,
            name=campaign.name,
            reference_id=campaign.reference_id,
            flow_id=campaign.flow_id,
            flow_version=campaign.flow_version,
            timezone=campaign.timezone,
            windows=campaign.windows,
            not_before=campaign.not_before.isoformat() if campaign.not_before else None,
            not_after=campaign.not_after.isoformat() if campaign.not_after else None,
            max_attempts=campaign.max_attempts,
            max_attempts_per_day=campaign.max_attempts_per_day,
            retry_policy=campaign.retry_policy,
            concurrency=campaign.concurrency,
            caller_numbers=campaign.caller_numbers,
            priority=campaign.priority,
            webhook_url=redact_url(campaign.webhook_url),
            start_at=iso(campaign.start_at),
            stop_at=iso(campaign.stop_at),
            holidays=list(campaign.holidays or []),
            holiday_calendars=list(campaign.holiday_calendars or []),
            frequency_cap=campaign.frequency_cap,
            routing_rules=list(campaign.routing_rules or []),
            caller_numbers_by_region=dict(campaign.caller_numbers_by_region or {}),
            variants=list(campaign.variants) if campaign.variants else None,
            voicemail_action=campaign.voicemail_action,
            voicemail_message=campaign.voicemail_message,
            seat_group=campaign.seat_group,
            retention_days=campaign.retention_days,
            mask_after_days=campaign.mask_after_days,
            state=campaign.state,
            created_at=iso(campaign.created_at),
            updated_at=iso(campaign.updated_at),
        )
