"""The audit log: who changed what through the API, when, and the resource before and after.

:func:`record_change` adds the entry to the caller's session, so it commits (or rolls back) with the
change it describes. ``before``/``after`` are JSON with secrets replaced by ``***`` and every phone
number masked (``138****1234``): the log is for finding out who did what, not a second copy of the
customer data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from waihu.service.masking import looks_like_phone, mask_middle
from waihu.service.models import ApiKey, AuditEntry, utcnow
from waihu.service.webhook_destinations import redact_url

log = logging.getLogger(__name__)

#: Keys whose values are secrets: never stored, not even hashed.
SECRET_FIELDS = frozenset({"webhook_secret", "secret", "secret_hash", "key", "token", "password"})
#: Keys whose values (strings or lists of strings) are phone numbers.
PHONE_FIELDS = frozenset({"phone", "phones", "caller_number", "caller_numbers"})
#: Keys whose values are URLs that may carry credentials.
URL_FIELDS = frozenset({"webhook_url"})
MASK = "***"
_MAX_DEPTH = 12
_MAX_TEXT = 2000


@dataclass(frozen=True)
class Actor:
    """Who made a change: the key (id, name, role, tenant), or the command line (no key)."""

    key_id: str | None
    name: str
    role: str
    tenant: str | None

    @classmethod
    def of(cls, key: ApiKey) -> Actor:
        """The actor behind ``key``."""
        return cls(key.id, key.name, key.role, key.tenant)


#: Changes made with ``waihu keys create`` on the server.
CLI = Actor(None, "waihu CLI", "cli", None)


def redact(value: Any, field: str = "", depth: int = 0) -> Any:
    """``value`` as JSON with secrets masked, phone numbers masked and URLs without credentials."""
    if depth > _MAX_DEPTH:
        return MASK
    if field in SECRET_FIELDS and value is not None:
        return MASK
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, field, depth + 1) for item in value]
    if isinstance(value, str):
        if field in URL_FIELDS:
            return redact_url(value)
        if field in PHONE_FIELDS or looks_like_phone(value):
            return mask_middle(value)
        return value[:_MAX_TEXT]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:_MAX_TEXT]


def record_change(
    session: Session,
    actor: ApiKey | Actor,
    action: str,
    resource_type: str,
    resource_id: str | int,
    *,
    tenant: str | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Add an audit entry for a change in ``tenant`` (None: platform-wide) to ``session`` (caller commits).

    ``action`` is ``<resource>.<verb>`` (``campaign.pause``); ``before``/``after`` are redacted here.
    """
    who = actor if isinstance(actor, Actor) else Actor.of(actor)
    entry = AuditEntry(
        at=at or utcnow(),
        actor_key_id=who.key_id,
        actor_name=who.name[:200],
        actor_role=who.role,
        actor_tenant=who.tenant,
        tenant=tenant,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id)[:200],
        before=redact(before) if before is not None else None,
        after=redact(after) if after is not None else None,
    )
    session.add(entry)
    log.info(
        "audit: %s %s %s by key %s (%s) of tenant %s",
        action,
        resource_type,
        mask_middle(entry.resource_id) if looks_like_phone(entry.resource_id) else entry.resource_id,
        who.key_id or "-",
        who.role,
        who.tenant or "-",
    )
    return entry
