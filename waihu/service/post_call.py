"""Post-call actions (挂机短信): after a call, rules by grade, tag and outcome send a signed ``notify``
event — e.g. an SMS request "张先生您好，分期办理链接：{link}" — to a configured HTTP endpoint.

The campaign's ``post_call`` holds ``{"url", "secret", "rules": [...]}``; the flow may add its own
rules (``post_call:`` in the flow file, checked by the validator). When an attempt is recorded, each
matching rule (the campaign's, then the flow's) renders its template with the contact's variables
and the call's result and adds a ``notify`` event to the webhook outbox in the same transaction, so it
is signed, delivered to ``url`` under the webhook destination policy (SSRF) and retried with backoff
like every webhook. A template naming a variable the contact does not have is not sent half-filled:
the event is stored as ``skipped`` with the reason. The attempt's result lists its notifications and
their delivery status.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from typing import Any

from pydantic import field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialog.flow_files import NO_FILES
from dialog.loader import load_flow_text
from dialog.schema import PostCallAction
from dialog.templates import TemplateError, placeholders, render
from waihu.call_record import iso
from waihu.privacy import mask_phone
from waihu.service.models import Attempt, Campaign, Contact, FlowVersion, WebhookEvent
from waihu.service.problems import invalid
from waihu.service.webhooks import outbox_event

log = logging.getLogger(__name__)
_CACHE_SIZE = 256
_flow_rules: dict[tuple[str, str, int], tuple[list[dict[str, Any]], dict[str, str]]] = {}
_cache_lock = threading.Lock()

NOTIFY = "notify"


class PostCallRule(PostCallAction):
    """A campaign's post-call rule: the flow file's ``post_call:`` action, its template checked here."""

    @field_validator("template")
    @classmethod
    def _check_template(cls, value: str) -> str:
        try:
            placeholders(value)
        except TemplateError as exc:
            raise invalid("post_call_template_invalid", reason=str(exc)) from exc
        return value


def matches(rule: dict[str, Any], outcome: str | None, grade: str | None, tags: Iterable[str]) -> bool:
    """Whether the stored ``rule`` fires for a call with this outcome, grade and tags."""
    when = rule.get("when") or {}
    if when.get("outcomes") and outcome not in when["outcomes"]:
        return False
    if when.get("grades") and grade not in when["grades"]:
        return False
    return not (when.get("tags_any") and not set(when["tags_any"]) & set(tags))


def call_variables(attempt: Attempt, contact: Contact) -> dict[str, str]:
    """What a template may name: the contact's variables, then the call's result (which wins)."""
    values = {str(k): str(v) for k, v in (contact.variables or {}).items()}
    if contact.name:  # else the contact's variable or the flow's default, as in the call
        values["name"] = contact.name
    values |= {
        "reference_id": contact.reference_id,
        "grade": attempt.grade or "",
        "grade_label": attempt.grade_label or "",
        "outcome": attempt.outcome or "",
        "variant": attempt.variant or "",
        "tags": "、".join(attempt.tags or []),
    }
    return values


def enqueue_actions(
    session: Session, campaign: Campaign, attempt: Attempt, contact: Contact, now: dt.datetime
) -> list[WebhookEvent]:
    """Add a ``notify`` event for every rule of the campaign that fires for ``attempt`` (caller commits)."""
    config = campaign.post_call or {}
    if not config.get("url"):
        return []
    own_rules, defaults = flow_rules(session, campaign.tenant, attempt.flow_id, attempt.flow_version)
    rules = [*config.get("rules", []), *own_rules]
    variables = defaults | call_variables(attempt, contact)  # the flow's defaults, as the call had them
    events = []
    for rule in rules:
        if not matches(rule, attempt.outcome, attempt.grade, attempt.tags or []):
            continue
        missing = [name for name in placeholders(rule["template"]) if name not in variables]
        payload = {
            "rule": rule["name"],
            "attempt_id": attempt.id,
            "reference_id": contact.reference_id,
            "phone": attempt.phone,
            "text": render(rule["template"], variables),
            "variables": {
                name: variables[name] for name in placeholders(rule["template"]) if name in variables
            },
            "data": dict(rule.get("data") or {}),
            "outcome": attempt.outcome,
            "grade": attempt.grade,
            "tags": list(attempt.tags or []),
            "variant": attempt.variant,
        }
        event = outbox_event(campaign.id, NOTIFY, payload, now, url=config["url"], attempt_id=attempt.id)
        if missing:  # never a half-filled message: kept as skipped, with the reason
            event.next_try_at, event.failed_at = None, now
            event.last_error = f"skipped: the contact has no variable {', '.join(missing)}"
        session.add(event)
        events.append(event)
        log.info(
            "post-call %r for attempt %s (%s): %s",
            rule["name"],
            attempt.id,
            mask_phone(attempt.phone),
            "skipped, missing " + ", ".join(missing) if missing else "queued",
        )
    return events


def flow_rules(
    session: Session, tenant: str, flow_id: str, version: int
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The ``post_call:`` actions and the variable defaults of a stored flow version (parsed once:
    versions never change)."""
    key = (tenant, flow_id, version)
    with _cache_lock:
        if key in _flow_rules:
            return _flow_rules[key]
    text = session.scalar(
        select(FlowVersion.yaml_text).where(
            FlowVersion.tenant == tenant, FlowVersion.flow_id == flow_id, FlowVersion.version == version
        )
    )
    loaded = load_flow_text(text, files=NO_FILES).flow if text else None
    rules = [action.model_dump(mode="json") for action in loaded.post_call] if loaded else []
    defaults = {name: var.default for name, var in loaded.variables.items() if var.default} if loaded else {}
    with _cache_lock:
        if len(_flow_rules) >= _CACHE_SIZE:
            _flow_rules.pop(next(iter(_flow_rules)))
        _flow_rules[key] = (rules, defaults)
    return rules, defaults


def notification_view(event: WebhookEvent) -> dict[str, Any]:
    """A notify event's delivery status as results show it."""
    if event.delivered_at is not None:
        state = "delivered"
    elif event.failed_at is not None:
        state = "skipped" if event.attempts == 0 else "failed"
    else:
        state = "retrying" if event.attempts else "pending"
    stamp = event.delivered_at or event.failed_at
    return {
        "event_id": event.id,
        "rule": event.payload.get("rule"),
        "text": event.payload.get("text"),
        "status": state,
        "tries": event.attempts,
        "last_status": event.last_status,
        "last_error": event.last_error,
        "settled_at": iso(stamp),
    }


def notifications_of(session: Session, attempt_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The notifications of each attempt in ``attempt_ids`` (oldest first)."""
    found: dict[str, list[dict[str, Any]]] = {attempt_id: [] for attempt_id in attempt_ids}
    if not attempt_ids:
        return found
    events = session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.attempt_id.in_(attempt_ids), WebhookEvent.type == NOTIFY)
        .order_by(WebhookEvent.id)
    )
    for event in events:
        found.setdefault(event.attempt_id or "", []).append(notification_view(event))
    return found
