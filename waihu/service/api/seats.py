"""/v1/seats: human agents' SIP endpoints for transfers, and their availability."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from waihu.service.api.deps import Admin, SeatManager, SessionDep
from waihu.service.api.errors import not_found
from waihu.service.api.responses import AUTH, JSON_BODY, errors, existing
from waihu.service.audit import record_change
from waihu.service.models import Seat, utcnow
from waihu.service.problems import combined, forbidden_field
from waihu.service.views import OpenModel, PublicModel, Timestamp, iso

router = APIRouter(prefix="/v1/seats", tags=["seats"], responses=errors(*AUTH, 422))
SeatId = Annotated[int, Path(ge=1, le=2**31 - 1)]
#: What an operator may change on a seat; name and skill group are for admins.
OPERATOR_FIELDS = frozenset({"available"})
_SIP_URI = r"^sips?:[^\s@]+@[^\s@]+$|^sips?:[^\s@]+$"


class SeatCreate(BaseModel):
    """Register (or update, by URI) a seat."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(pattern=_SIP_URI, max_length=300, examples=["sip:1001@10.0.0.5"])
    name: str = Field(default="", max_length=200)
    skill_group: str = Field(default="default", min_length=1, max_length=64)
    available: bool = False


class SeatUpdate(BaseModel):
    """Change availability (operators and admins) or group/name (admins only)."""

    model_config = ConfigDict(extra="forbid")

    available: bool | None = None
    skill_group: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)


class SeatPublic(OpenModel):
    """A seat: its SIP URI, name, skill group and whether it takes transfers now."""

    id: int
    uri: str
    name: str
    skill_group: str
    available: bool
    updated_at: Timestamp | None
    busy: bool = Field(default=False, description="On a transfer leg now (ringing or talking).")
    last_idle_at: Timestamp | None = Field(
        default=None, description="When its last transfer leg ended (longest-idle routing)."
    )


class SeatsPublic(PublicModel):
    """The tenant's seats (not paginated)."""

    items: list[SeatPublic]


def _view(seat: Seat) -> dict[str, Any]:
    return SeatPublic(
        id=seat.id,
        uri=seat.uri,
        name=seat.name,
        skill_group=seat.skill_group,
        available=seat.available,
        updated_at=iso(seat.updated_at),
        busy=bool(seat.busy),
        last_idle_at=iso(seat.last_idle_at),
    ).model_dump()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a seat",
    response_model=SeatPublic,
    responses=errors(*JSON_BODY, 409) | existing("The tenant had a seat with this URI: updated.", SeatPublic),
)
def register_seat(body: SeatCreate, session: SessionDep, key: Admin, response: Response) -> SeatPublic:
    """Create, or update the tenant's seat with the same URI (200)."""
    now = utcnow()
    seat = session.scalars(select(Seat).where(Seat.tenant == key.tenant, Seat.uri == body.uri)).first()
    before = None
    if seat is None:
        seat = Seat(tenant=key.tenant, uri=body.uri, created_at=now)
        session.add(seat)
    else:
        before = _view(seat)
        response.status_code = status.HTTP_200_OK
    seat.name, seat.skill_group, seat.available, seat.updated_at = (
        body.name,
        body.skill_group,
        body.available,
        now,
    )
    session.flush()
    after = _view(seat)
    if before is None or _changed(before, after):
        action = "seat.register" if before is None else "seat.update"
        record_change(
            session, key, action, "seat", seat.id, tenant=key.tenant, before=before, after=after, at=now
        )
    session.commit()
    return SeatPublic(**after)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(before[name] != after[name] for name in ("uri", "name", "skill_group", "available"))


@router.get("", summary="List seats", response_model=SeatsPublic)
def list_seats(
    session: SessionDep,
    key: SeatManager,
    skill_group: Annotated[str | None, Query(max_length=64)] = None,
    available: bool | None = None,
) -> SeatsPublic:
    """The tenant's seats, filtered by group and availability."""
    query = select(Seat).where(Seat.tenant == key.tenant).order_by(Seat.id)
    if skill_group:
        query = query.where(Seat.skill_group == skill_group)
    if available is not None:
        query = query.where(Seat.available == available)
    return SeatsPublic(items=[SeatPublic(**_view(seat)) for seat in session.scalars(query)])


@router.patch(
    "/{seat_id}",
    summary="Set a seat's availability",
    response_model=SeatPublic,
    responses=errors(*JSON_BODY, 404),
)
def update_seat(seat_id: SeatId, body: SeatUpdate, session: SessionDep, key: SeatManager) -> SeatPublic:
    """Operators and admins mark seats available or away; only admins rename or regroup them."""
    changes = body.model_dump(exclude_none=True)
    admin_only = sorted(set(changes) - OPERATOR_FIELDS)
    if admin_only and key.role != "admin":
        raise combined(
            [forbidden_field(["body", name], "seat_field_admin_only", field=name) for name in admin_only]
        )
    seat = session.get(Seat, seat_id)
    if seat is None or seat.tenant != key.tenant:
        raise not_found("seat_not_found", seat=seat_id)
    before = _view(seat)
    for name, value in changes.items():
        setattr(seat, name, value)
    seat.updated_at = utcnow()
    after = _view(seat)
    if _changed(before, after):
        record_change(
            session, key, "seat.update", "seat", seat.id, tenant=seat.tenant, before=before, after=after
        )
    session.commit()
    return SeatPublic(**after)
