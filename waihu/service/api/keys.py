"""/v1/keys: admins create and revoke API keys; the secret is shown once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from waihu.service.api.deps import Admin, SessionDep
from waihu.service.api.errors import not_found
from waihu.service.apikeys import create_api_key
from waihu.service.models import ApiKey, utcnow
from waihu.service.outcomes import Role
from waihu.service.views import iso

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyIn(BaseModel):
    """A new key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role


def _view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
    }


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an API key")
def create_key(body: KeyIn, session: SessionDep, _key: Admin) -> dict[str, Any]:
    """The response's ``key`` is the only time the secret is shown."""
    key, token = create_api_key(session, body.name, body.role)
    session.commit()
    return _view(key) | {"key": token}


@router.get("", summary="List API keys")
def list_keys(session: SessionDep, _key: Admin) -> dict[str, Any]:
    """Every key (never a secret)."""
    return {"items": [_view(key) for key in session.scalars(select(ApiKey).order_by(ApiKey.created_at))]}


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key")
def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=24)], session: SessionDep, _key: Admin
) -> Response:
    """Revoked keys answer 401 from then on."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise not_found(f"key {key_id}")
    key.revoked_at = key.revoked_at or utcnow()
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
