"""JSON shapes of results, contacts and campaigns, shared by the HTTP API and the webhook payloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from waihu.service.models import Attempt, Campaign, Contact
from waihu.service.webhook_destinations import redact_url


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, or None."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def attempt_view(attempt: Attempt, contact: Contact | None = None, *, with_transcript: bool = True) -> dict:
    """One attempt's result: outcome, SIP code, who hung up, times, duration, grade, tags, trace."""
    view: dict[str, Any] = {
        "attempt_id": attempt.id,
        "attempt_number": attempt.number,
        "is_retry": attempt.number > 1,
        "campaign_id": attempt.campaign_id,
        "contact_id": attempt.contact_id,
        "reference_id": contact.reference_id if contact is not None else None,
        "phone": attempt.phone,
        "caller_number": attempt.caller_number,
        "caller_region": attempt.caller_region,
        "flow_id": attempt.flow_id,
        "flow_version": attempt.flow_version,
        "variant": attempt.variant,
        "status": attempt.status,
        "outcome": attempt.outcome,
        "sip_code": attempt.sip_code,
        "sip_reason": attempt.sip_reason,
        "hangup_by": attempt.hangup_by,
        "hangup_reason": attempt.hangup_reason,
        "carrier_announcement": attempt.carrier_announcement,
        "claimed_at": iso(attempt.claimed_at),
        "started_at": iso(attempt.started_at),
        "ring_at": iso(attempt.ring_at),
        "answer_at": iso(attempt.answer_at),
        "end_at": iso(attempt.end_at),
        "ring_s": _seconds(attempt.ring_at, attempt.answer_at or attempt.end_at),
        "duration_s": _seconds(attempt.answer_at, attempt.end_at) or 0.0,
        "rounds": attempt.rounds,
        "grade": attempt.grade,
        "grade_label": attempt.grade_label,
        "tags": list(attempt.tags or []),
        "kb_hits": list(attempt.kb_hits or []),
        "recording_path": attempt.recording_path,
    }
    if with_transcript:
        view["transcript"] = list(attempt.transcript or [])
    return view


def contact_view(contact: Contact) -> dict:
    """A contact's current state and final result."""
    return {
        "id": contact.id,
        "campaign_id": contact.campaign_id,
        "reference_id": contact.reference_id,
        "phone": contact.phone,
        "name": contact.name,
        "variables": dict(contact.variables or {}),
        "state": contact.state,
        "next_attempt_at": iso(contact.next_attempt_at) if contact.state == "pending" else None,
        "attempts": contact.attempts_total,
        "last_attempt_id": contact.last_attempt_id,
        "last_outcome": contact.last_outcome,
        "final_outcome": contact.final_outcome,
        "grade": contact.final_grade,
        "grade_label": contact.grade_label,
        "tags": list(contact.tags or []),
        "regraded_at": iso(contact.regraded_at),
        "variant": contact.variant,
        "created_at": iso(contact.created_at),
        "finished_at": iso(contact.finished_at),
        "routed_to_contact_id": contact.routed_to_contact_id,
        "routed_from_contact_id": contact.routed_from_contact_id,
    }


def campaign_view(campaign: Campaign) -> dict:
    """A campaign's settings and state (never its webhook secret)."""
    return {
        "id": campaign.id,
        "name": campaign.name,
        "reference_id": campaign.reference_id,
        "flow_id": campaign.flow_id,
        "flow_version": campaign.flow_version,
        "timezone": campaign.timezone,
        "windows": campaign.windows,
        "not_before": campaign.not_before.isoformat() if campaign.not_before else None,
        "not_after": campaign.not_after.isoformat() if campaign.not_after else None,
        "max_attempts": campaign.max_attempts,
        "max_attempts_per_day": campaign.max_attempts_per_day,
        "retry_policy": campaign.retry_policy,
        "concurrency": campaign.concurrency,
        "caller_numbers": campaign.caller_numbers,
        "priority": campaign.priority,
        "webhook_url": redact_url(campaign.webhook_url),
        "start_at": iso(campaign.start_at),
        "stop_at": iso(campaign.stop_at),
        "holidays": list(campaign.holidays or []),
        "holiday_calendars": list(campaign.holiday_calendars or []),
        "frequency_cap": campaign.frequency_cap,
        "routing_rules": list(campaign.routing_rules or []),
        "caller_numbers_by_region": dict(campaign.caller_numbers_by_region or {}),
        "variants": list(campaign.variants) if campaign.variants else None,
        "voicemail_action": campaign.voicemail_action,
        "voicemail_message": campaign.voicemail_message,
        "state": campaign.state,
        "created_at": iso(campaign.created_at),
        "updated_at": iso(campaign.updated_at),
    }
