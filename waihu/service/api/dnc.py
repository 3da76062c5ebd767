"""/v1/dnc: the do-not-call list the scheduler checks before every dial."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from waihu.service.api.deps import AnyRole, SessionDep, SettingsDep
from waihu.service.api.errors import field_error, not_found
from waihu.service.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, page
from waihu.service.models import Dnc, utcnow
from waihu.service.phones import PhoneError, normalise_phone
from waihu.service.views import iso

router = APIRouter(prefix="/v1/dnc", tags=["dnc"])


class DncIn(BaseModel):
    """A number never to dial."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=40)
    reason: str = Field(default="", max_length=200)
    source: str = Field(default="api", max_length=32)


def _view(row: Dnc) -> dict[str, Any]:
    return {"phone": row.phone, "reason": row.reason, "source": row.source, "created_at": iso(row.created_at)}


def _normalise(phone: str, loc: list[Any], region: str) -> str:
    """Any spelling of a number → its E.164 form (blocked numbers need not be dialable types)."""
    try:
        return normalise_phone(phone, region, dialable=False)
    except PhoneError as exc:
        raise field_error(loc, str(exc)) from exc


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a number to the DNC list")
def add_dnc(
    body: DncIn, session: SessionDep, state: SettingsDep, _key: AnyRole, response: Response
) -> dict[str, Any]:
    """Add (idempotent: an existing entry is returned with 200)."""
    phone = _normalise(body.phone, ["body", "phone"], state.settings.default_region)
    existing = session.scalars(select(Dnc).where(Dnc.phone == phone)).first()
    if existing is not None:
        response.status_code = status.HTTP_200_OK
        return _view(existing)
    row = Dnc(phone=phone, reason=body.reason, source=body.source, created_at=utcnow())
    session.add(row)
    session.commit()
    return _view(row)


@router.delete(
    "/{phone}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a number from the DNC list"
)
def remove_dnc(
    phone: Annotated[str, Path(min_length=1, max_length=40)],
    session: SessionDep,
    state: SettingsDep,
    _key: AnyRole,
) -> Response:
    """Remove; 404 when it was not listed."""
    normalised = _normalise(phone, ["path", "phone"], state.settings.default_region)
    removed = session.execute(delete(Dnc).where(Dnc.phone == normalised))
    if removed.rowcount == 0:  # type: ignore[attr-defined]
        raise not_found(f"DNC entry {phone}")
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", summary="List the DNC list")
def list_dnc(
    session: SessionDep,
    state: SettingsDep,
    _key: AnyRole,
    phone: Annotated[str | None, Query(max_length=40, description="Look up one number.")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Entries in the order they were added; cursor-paginated."""
    query = select(Dnc).order_by(Dnc.id).limit(limit + 1)
    if phone:
        query = query.where(Dnc.phone == _normalise(phone, ["query", "phone"], state.settings.default_region))
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        query = query.where(Dnc.id > last_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return page([_view(row) for row in rows], encode_cursor(rows[-1].id) if more else None)
