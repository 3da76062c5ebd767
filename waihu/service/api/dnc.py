"""/v1/dnc: the do-not-call list the scheduler checks before every dial.

Each tenant keeps its own list; the global list (entries with no tenant) blocks a number for every
tenant and is kept by platform admins. Listing shows the tenant's entries and the global ones. Removing
an entry is for admins only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select

from waihu.service.api.deps import Admin, AnyRole, SessionDep, SettingsDep
from waihu.service.api.errors import field_error_from, not_found
from waihu.service.api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from waihu.service.api.responses import AUTH, JSON_BODY, errors, existing
from waihu.service.audit import record_change
from waihu.service.models import ApiKey, Dnc, utcnow
from waihu.service.phones import PhoneError, normalise_phone
from waihu.service.problems import forbidden_field
from waihu.service.tenancy import is_platform_admin
from waihu.service.views import PublicModel, Timestamp, iso, masked

router = APIRouter(prefix="/v1/dnc", tags=["dnc"], responses=errors(*AUTH, 422))
#: ``tenant``: the key's tenant's list; ``global``: the list every tenant obeys (platform admins).
Scope = Literal["tenant", "global"]


class DncCreate(BaseModel):
    """A number never to dial."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=40)
    reason: str = Field(default="", max_length=200)
    source: str = Field(default="api", max_length=32)
    scope: Scope = Field(
        default="tenant", description="`global` blocks the number for every tenant (platform admins only)."
    )


class DncPublic(PublicModel):
    """A blocked number (masked for operators), why, from where, on whose list, since when."""

    phone: str
    reason: str
    source: str
    scope: Scope
    created_at: Timestamp | None


class DncsPublic(Page[DncPublic]):
    """A page of block-list entries in the order they were added."""


def _view(row: Dnc, key: ApiKey) -> DncPublic:
    view = DncPublic(
        phone=row.phone,
        reason=row.reason,
        source=row.source,
        scope="global" if row.tenant is None else "tenant",
        created_at=iso(row.created_at),
    )
    return masked(view, key.role)


def _normalise(phone: str, loc: list[Any], region: str) -> str:
    """Any spelling of a number → its E.164 form (blocked numbers need not be dialable types)."""
    try:
        return normalise_phone(phone, region, dialable=False)
    except PhoneError as exc:
        raise field_error_from(loc, exc, "phone_rejected") from exc


def _list_tenant(key: ApiKey, scope: Scope, loc: list[Any]) -> str | None:
    """The tenant column value of entries in ``scope``; the global list needs a platform admin."""
    if scope == "tenant":
        return key.tenant
    if not is_platform_admin(key):
        raise forbidden_field(loc, "global_dnc_platform_admin_only")
    return None


def _entry(session: SessionDep, tenant: str | None, phone: str) -> Dnc | None:
    owner = Dnc.tenant.is_(None) if tenant is None else Dnc.tenant == tenant
    return session.scalars(select(Dnc).where(owner, Dnc.phone == phone)).first()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a number to the DNC list",
    response_model=DncPublic,
    responses=errors(*JSON_BODY, 409)
    | existing("The number was on this list already: the entry is returned.", DncPublic),
)
def add_dnc(
    body: DncCreate, session: SessionDep, state: SettingsDep, key: AnyRole, response: Response
) -> DncPublic:
    """Add to the tenant's list, or with ``scope: global`` to every tenant's (idempotent: an existing
    entry is returned with 200). Operators see the number masked in the answer."""
    tenant = _list_tenant(key, body.scope, ["body", "scope"])
    phone = _normalise(body.phone, ["body", "phone"], state.settings.default_region)
    existing = _entry(session, tenant, phone)
    if existing is not None:
        response.status_code = status.HTTP_200_OK
        return _view(existing, key)
    row = Dnc(tenant=tenant, phone=phone, reason=body.reason, source=body.source, created_at=utcnow())
    session.add(row)
    session.flush()
    record_change(
        session,
        key,
        "dnc.add",
        "dnc",
        row.id,
        tenant=tenant,
        after=_view(row, key).model_dump() | {"phone": phone},
    )
    session.commit()
    return _view(row, key)


@router.delete(
    "/{phone}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a number from the DNC list (admins)",
    responses=errors(404),
)
def remove_dnc(
    phone: Annotated[str, Path(min_length=1, max_length=40)],
    session: SessionDep,
    state: SettingsDep,
    key: Admin,
    scope: Annotated[
        Scope, Query(description="`global`: from the global list (platform admins).")
    ] = "tenant",
) -> Response:
    """Remove from the tenant's list (or the global one); 404 when it was not listed there."""
    tenant = _list_tenant(key, scope, ["query", "scope"])
    normalised = _normalise(phone, ["path", "phone"], state.settings.default_region)
    row = _entry(session, tenant, normalised)
    if row is None:
        raise not_found("dnc_entry_not_found")
    record_change(
        session, key, "dnc.remove", "dnc", row.id, tenant=tenant, before=_view(row, key).model_dump()
    )
    session.delete(row)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", summary="List the DNC list", response_model=DncsPublic)
def list_dnc(
    session: SessionDep,
    state: SettingsDep,
    key: AnyRole,
    phone: Annotated[str | None, Query(max_length=40, description="Look up one number.")] = None,
    scope: Annotated[
        Literal["all", "tenant", "global"],
        Query(description="Whose entries: `all` = the tenant's and global."),
    ] = "all",
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> DncsPublic:
    """The tenant's entries and the global ones, in the order they were added; cursor-paginated.

    Operators see numbers masked (``138****1234``); strategy and admin keys see them in full.
    """
    owners = {
        "all": or_(Dnc.tenant == key.tenant, Dnc.tenant.is_(None)),
        "tenant": Dnc.tenant == key.tenant,
        "global": Dnc.tenant.is_(None),
    }[scope]
    query = select(Dnc).where(owners).order_by(Dnc.id).limit(limit + 1)
    if phone:
        query = query.where(Dnc.phone == _normalise(phone, ["query", "phone"], state.settings.default_region))
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        query = query.where(Dnc.id > last_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return DncsPublic(
        items=[_view(row, key) for row in rows], next_cursor=encode_cursor(rows[-1].id) if more else None
    )
