"""/v1/keys: admins create, list and revoke their tenant's API keys; the secret is shown once.

A platform admin may also name another tenant (and so start a new one), make platform-admin keys, and
list or revoke the keys of every tenant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from waihu.service.api.deps import Admin, SessionDep
from waihu.service.api.errors import field_error, not_found
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.apikeys import create_api_key
from waihu.service.audit import record_change
from waihu.service.models import ApiKey, utcnow
from waihu.service.outcomes import Role
from waihu.service.problems import Problem, forbidden_field, problem
from waihu.service.tenancy import TENANT_PATTERN, is_platform_admin
from waihu.service.views import PublicModel, Timestamp, iso

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=errors(*AUTH))
TenantName = Annotated[str, Field(pattern=TENANT_PATTERN, max_length=64)]


class KeyCreate(BaseModel):
    """A new key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role
    tenant: TenantName | None = Field(
        default=None, description="Default: the caller's tenant. Another tenant: platform admins only."
    )
    platform_admin: bool = Field(
        default=False,
        description="An admin key that also keeps the global block list and every tenant's keys.",
    )


class KeyPublic(PublicModel):
    """An API key without its secret."""

    id: str
    name: str
    role: str
    tenant: str
    platform_admin: bool
    created_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None


class KeyCreated(KeyPublic):
    """A new key with its secret: the only time it is shown."""

    key: str = Field(description="The secret for `Authorization: Bearer`: shown once.")


class KeysPublic(PublicModel):
    """API keys (not paginated)."""

    items: list[KeyPublic]


def _public(key: ApiKey) -> KeyPublic:
    return KeyPublic(
        id=key.id,
        name=key.name,
        role=key.role,
        tenant=key.tenant,
        platform_admin=bool(key.platform_admin),
        created_at=iso(key.created_at),
        last_used_at=iso(key.last_used_at),
        revoked_at=iso(key.revoked_at),
    )


def _view(key: ApiKey) -> dict[str, Any]:
    return _public(key).model_dump()


def _forbidden(field: str, code: str) -> Problem:
    return forbidden_field(["body", field], code)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
    response_model=KeyCreated,
    responses=errors(*JSON_BODY),
)
def create_key(body: KeyCreate, session: SessionDep, caller: Admin) -> KeyCreated:
    """The response's ``key`` is the only time the secret is shown."""
    tenant = body.tenant or caller.tenant
    platform = is_platform_admin(caller)
    if tenant != caller.tenant and not platform:
        raise _forbidden("tenant", "key_tenant_platform_admin_only")
    if body.platform_admin and not platform:
        raise _forbidden("platform_admin", "platform_key_platform_admin_only")
    if body.platform_admin and body.role != "admin":
        raise field_error(["body", "platform_admin"], "platform_admin_needs_admin_role")
    key, token = create_api_key(
        session, body.name, body.role, tenant=tenant, platform_admin=body.platform_admin
    )
    session.flush()
    record_change(session, caller, "key.create", "key", key.id, tenant=tenant, after=_view(key))
    session.commit()
    return KeyCreated(**_view(key), key=token)


@router.get("", summary="List API keys", response_model=KeysPublic, responses=errors(422))
def list_keys(
    session: SessionDep,
    caller: Admin,
    tenant: Annotated[
        str | None, Query(pattern=TENANT_PATTERN, max_length=64, description="Platform admins: one tenant.")
    ] = None,
) -> KeysPublic:
    """The tenant's keys (a platform admin: every tenant's, or ``tenant``'s); never a secret."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not is_platform_admin(caller):
        query = query.where(ApiKey.tenant == caller.tenant)
        if tenant is not None and tenant != caller.tenant:
            return KeysPublic(items=[])
    elif tenant is not None:
        query = query.where(ApiKey.tenant == tenant)
    return KeysPublic(items=[_public(key) for key in session.scalars(query)])


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    responses=errors(404, 422),
)
def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=24)], session: SessionDep, caller: Admin
) -> Response:
    """Revoked keys answer 401 from then on. A platform admin's key can be revoked by platform admins only."""
    key = session.get(ApiKey, key_id)
    platform = is_platform_admin(caller)
    if key is None or (key.tenant != caller.tenant and not platform):
        raise not_found("key_not_found", key=key_id)
    if key.platform_admin and not platform:
        raise problem(status.HTTP_403_FORBIDDEN, "platform_key_revoke_forbidden")
    if key.revoked_at is None:
        before = _view(key)
        key.revoked_at = utcnow()
        record_change(
            session, caller, "key.revoke", "key", key.id, tenant=key.tenant, before=before, after=_view(key)
        )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
