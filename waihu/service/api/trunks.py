"""/v1/trunks: carrier trunks' line caps and CPS limits, shared by every worker dialling on them.

A trunk serves every tenant's campaigns, so its limits are platform settings: any admin may read them,
only a platform admin may change them. Workers started with ``--trunk-max-lines``/``--trunk-max-cps``
(or their config file's ``max_lines``/``max_cps``) write them too; the next claim obeys the new values.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from waihu.service.api.deps import Admin, SessionDep
from waihu.service.api.errors import not_found
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.audit import record_change
from waihu.service.db import begin_write
from waihu.service.models import Trunk
from waihu.service.problems import forbidden_field
from waihu.service.tenancy import is_platform_admin
from waihu.service.trunk_limits import TRUNK_NAME_PATTERN, TrunkLimits, lines_in_use, set_limits
from waihu.service.views import PublicModel, Timestamp, iso

router = APIRouter(prefix="/v1/trunks", tags=["trunks"], responses=errors(*AUTH, 422))
TrunkName = Annotated[str, Path(pattern=TRUNK_NAME_PATTERN, examples=["carrier-a"])]


class TrunkPublic(PublicModel):
    """A trunk's limits (null: none) and the calls in progress on it now."""

    name: str
    max_lines: int | None
    max_cps: int | None
    lines_in_use: int
    updated_at: Timestamp | None


class TrunksPublic(PublicModel):
    """Every trunk that has limits, by name."""

    items: list[TrunkPublic]


def _view(session: SessionDep, trunk: Trunk) -> TrunkPublic:
    return TrunkPublic(
        name=trunk.name,
        max_lines=trunk.max_lines,
        max_cps=trunk.max_cps,
        lines_in_use=lines_in_use(session, trunk.name),
        updated_at=iso(trunk.updated_at),
    )


@router.get("", summary="List trunks and their limits", response_model=TrunksPublic)
def list_trunks(session: SessionDep, key: Admin) -> TrunksPublic:
    """Every trunk with a row (limits set by a worker or an admin), with its lines in use."""
    return TrunksPublic(
        items=[_view(session, trunk) for trunk in session.scalars(select(Trunk).order_by(Trunk.name))]
    )


@router.get("/{name}", summary="A trunk's limits", response_model=TrunkPublic, responses=errors(404))
def get_trunk(name: TrunkName, session: SessionDep, key: Admin) -> TrunkPublic:
    """Trunk ``name``'s limits and its lines in use."""
    trunk = session.get(Trunk, name)
    if trunk is None:
        raise not_found("trunk_not_found", name=name)
    return _view(session, trunk)


@router.put(
    "/{name}",
    summary="Set a trunk's limits",
    response_model=TrunkPublic,
    responses=errors(*JSON_BODY),
)
def put_trunk(name: TrunkName, body: TrunkLimits, session: SessionDep, key: Admin) -> TrunkPublic:
    """Replace trunk ``name``'s limits (null: no limit), creating it; platform admins only; audited."""
    if not is_platform_admin(key):
        raise forbidden_field(["path", "name"], "trunk_platform_admin_only")
    begin_write(session)  # SQLite: the write lock up front, before the old limits are read
    existing = session.get(Trunk, name, with_for_update=session.get_bind().dialect.name == "postgresql")
    before = _view(session, existing).model_dump() if existing is not None else None
    trunk = set_limits(session, name, body)
    after = _view(session, trunk)
    record_change(
        session, key, "trunk.put", "trunk", name, tenant=None, before=before, after=after.model_dump()
    )
    session.commit()
    return after
