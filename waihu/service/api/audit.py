"""/v1/audit: admins read who changed what in their tenant, newest first; cursor-paginated.

An admin sees the entries about its tenant's resources and the changes its tenant's keys made
elsewhere; a platform admin sees every entry (``tenant`` narrows it to one tenant, ``global_list`` to
the changes of the global block list).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import or_, select

from waihu.service.api.deps import Admin, SessionDep
from waihu.service.api.errors import field_error
from waihu.service.api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from waihu.service.api.responses import AUTH, errors
from waihu.service.models import AuditEntry
from waihu.service.tenancy import TENANT_PATTERN, is_platform_admin
from waihu.service.views import PublicModel, Timestamp, iso

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=errors(*AUTH, 422))


class AuditActor(PublicModel):
    """Who made a change: the key's id, name, role and tenant as they were then."""

    key_id: str | None
    name: str
    role: str
    tenant: str | None


class AuditEntryPublic(PublicModel):
    """One change: who, when, what (action, resource), before and after (phone numbers masked)."""

    id: int
    at: Timestamp | None
    actor: AuditActor
    tenant: str | None = Field(
        description="The tenant the resource belongs to (null: the global block list)."
    )
    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditEntriesPublic(Page[AuditEntryPublic]):
    """A page of audit entries, newest first."""


def audit_public(entry: AuditEntry) -> AuditEntryPublic:
    """One entry as the API shows it (``before``/``after`` were masked when written)."""
    return AuditEntryPublic(
        id=entry.id,
        at=iso(entry.at),
        actor=AuditActor(
            key_id=entry.actor_key_id, name=entry.actor_name, role=entry.actor_role, tenant=entry.actor_tenant
        ),
        tenant=entry.tenant,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        before=entry.before,
        after=entry.after,
    )


def _aware(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise field_error(["query", name], "time_needs_zone")
    return value


@router.get("", summary="The audit log (admins)", response_model=AuditEntriesPublic)
def list_audit(
    session: SessionDep,
    key: Admin,
    since: Annotated[dt.datetime | None, Query(description="Inclusive, ISO 8601 with zone.")] = None,
    until: Annotated[dt.datetime | None, Query(description="Exclusive, ISO 8601 with zone.")] = None,
    action: Annotated[
        str | None,
        Query(max_length=64, pattern=r"^[a-z_.]+$", description="`campaign.pause`, or a prefix: `campaign.`"),
    ] = None,
    resource: Annotated[
        str | None, Query(max_length=32, pattern=r"^[a-z_]+$", description="Resource type: campaign, dnc, …")
    ] = None,
    resource_id: Annotated[str | None, Query(max_length=200)] = None,
    tenant: Annotated[
        str | None, Query(max_length=64, pattern=TENANT_PATTERN, description="Platform admins: one tenant.")
    ] = None,
    global_list: Annotated[bool, Query(description="Only changes of the global block list.")] = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> AuditEntriesPublic:
    """Changes newest first: who (key id, name, role, tenant), when, what, before and after."""
    since, until = _aware(since, "since"), _aware(until, "until")
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if not is_platform_admin(key):
        query = query.where(or_(AuditEntry.tenant == key.tenant, AuditEntry.actor_tenant == key.tenant))
    if global_list:
        query = query.where(AuditEntry.tenant.is_(None))
    if tenant is not None:
        query = query.where(AuditEntry.tenant == tenant)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if action:
        exact = not action.endswith(".")
        query = query.where(
            AuditEntry.action == action if exact else AuditEntry.action.startswith(action, autoescape=True)
        )
    if resource:
        query = query.where(AuditEntry.resource_type == resource)
    if resource_id:
        query = query.where(AuditEntry.resource_id == resource_id)
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        query = query.where(AuditEntry.id < last_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditEntriesPublic(
        items=[audit_public(row) for row in rows], next_cursor=encode_cursor(rows[-1].id) if more else None
    )
