"""API keys: ``whk_<id>.<secret>``; the database keeps only the SHA-256 of the secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from waihu.service.models import DEFAULT_TENANT, ApiKey, utcnow
from waihu.service.outcomes import ROLES
from waihu.service.tenancy import check_tenant

PREFIX = "whk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session,
    name: str,
    role: str,
    *,
    tenant: str = DEFAULT_TENANT,
    platform_admin: bool = False,
) -> tuple[ApiKey, str]:
    """Add a key of ``tenant`` (caller commits); returns the row and the full token, shown only this once.

    ``platform_admin`` (admin keys only) also lets the key keep the global block list and every tenant's
    keys. Raises ValueError for an unknown role, a bad tenant name, or a platform non-admin.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    check_tenant(tenant)
    if platform_admin and role != "admin":
        raise ValueError("only admin keys can be platform admins")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        tenant=tenant,
        name=name,
        role=role,
        platform_admin=platform_admin,
        secret_hash=_hash(secret),
        created_at=utcnow(),
    )
    session.add(key)
    return key, f"{PREFIX}{key_id}.{secret}"


def authenticate(session: Session, token: str) -> ApiKey | None:
    """The live key matching ``token``, or None (unknown, revoked, malformed or wrong secret).

    Only reads: recording the use is :class:`KeyUseRecorder`'s job, outside the request's transaction.
    """
    if not token.startswith(PREFIX) or "." not in token:
        return None
    key_id, _, secret = token[len(PREFIX) :].partition(".")
    if not key_id or not secret or len(key_id) > 24:
        return None
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return key
