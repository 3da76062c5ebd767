"""Per-trunk limits that hold across worker processes: a line cap and calls-per-second pacing.

Carriers enforce both: more calls in progress than the trunk's lines are refused, and so are call
starts beyond its CPS. The limits live in the ``trunk`` table so that every worker dialling on a trunk
obeys the same numbers; a claim (:func:`waihu.service.scheduler.claim_due_contacts`) asks
:func:`trunk_budget` how many calls it may start *before* it touches any campaign:

- the trunk row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the claim's
  ``BEGIN IMMEDIATE`` already made it the only writer), so claimers on one trunk serialise and each
  counts what the previous one committed;
- lines: ``max_lines`` minus the trunk's attempts in progress (on any worker);
- pacing: ``max_cps`` minus the trunk's starts whose ``trunk_claimed_at`` lies in the last second of
  the *database* clock (read under the lock, so the stamps of one trunk only ever increase, whatever
  the workers' clocks say). Every start the claim grants is stamped with that clock: any 1-s window
  then holds at most ``max_cps`` starts. A claim with no budget returns nothing and the worker tries
  again at its next poll — no call is lost and nothing spins.

The lock order is trunk, then campaign (the campaign concurrency limit still applies after this).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from waihu.service.models import Attempt, Trunk, utcnow
from waihu.service.outcomes import IN_PROGRESS

#: A trunk's name: what ``waihu worker --trunk-name`` and the config's ``name`` say.
TRUNK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: Upper bounds: beyond these a value is a typo, not a carrier contract.
MAX_LINES = 100_000
MAX_CPS = 1000
#: The pacing window.
WINDOW = dt.timedelta(seconds=1)


class TrunkLimits(BaseModel):
    """A trunk's limits; None: no limit of that kind."""

    model_config = ConfigDict(extra="forbid")

    # strict: "5" or true is a mistake, not a limit
    max_lines: int | None = Field(default=None, ge=1, le=MAX_LINES, strict=True, examples=[30])
    max_cps: int | None = Field(default=None, ge=1, le=MAX_CPS, strict=True, examples=[5])


class TrunkLimitError(ValueError):
    """A trunk limit is out of range; the message names the field."""


def checked_limits(max_lines: Any = None, max_cps: Any = None) -> TrunkLimits:
    """Validate limits; raises :class:`TrunkLimitError` naming the bad field."""
    try:
        return TrunkLimits.model_validate({"max_lines": max_lines, "max_cps": max_cps})
    except ValidationError as exc:
        raise TrunkLimitError(
            "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        ) from None


def upsert_trunk(
    session: Session, name: str, *, max_lines: int | None = None, max_cps: int | None = None
) -> Trunk:
    """Create trunk ``name`` or set the given limits (None leaves a stored limit as it is); commits.

    What a worker does at start with the limits of its command line or config file. Concurrent
    starts of several workers do not conflict (``INSERT … ON CONFLICT DO UPDATE``).
    """
    limits = checked_limits(max_lines, max_cps)
    values = limits.model_dump(exclude_none=True)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    statement = insert(Trunk).values(name=name, updated_at=now, **values)
    session.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"updated_at": now, **values})
    )
    session.commit()
    trunk = session.get(Trunk, name, populate_existing=True)
    assert trunk is not None  # just written
    return trunk


def set_limits(session: Session, name: str, limits: TrunkLimits) -> Trunk:
    """Replace trunk ``name``'s limits (None clears one), creating the row; the caller commits."""
    trunk = session.get(Trunk, name, with_for_update=session.get_bind().dialect.name == "postgresql")
    if trunk is None:
        trunk = Trunk(name=name)
        session.add(trunk)
    trunk.max_lines, trunk.max_cps, trunk.updated_at = limits.max_lines, limits.max_cps, utcnow()
    session.flush()
    return trunk


def count_attempts(session: Session, *where: Any) -> int:
    """How many attempts match the ``where`` conditions."""
    return int(session.scalar(select(func.count()).select_from(Attempt).where(*where)) or 0)


def lines_in_use(session: Session, name: str) -> int:
    """Attempts in progress on trunk ``name`` (on every worker)."""
    return count_attempts(session, Attempt.trunk == name, Attempt.status.in_(IN_PROGRESS))


def starts_since(session: Session, name: str, since: dt.datetime) -> int:
    """Starts granted on trunk ``name`` after ``since`` (database clock)."""
    return count_attempts(session, Attempt.trunk == name, Attempt.trunk_claimed_at > since)


def database_now(session: Session) -> dt.datetime:
    """The database server's clock now (not the transaction's start), timezone-aware UTC.

    PostgreSQL's ``now()`` is the transaction's start, which may precede the commit of the claimer
    that held the lock before us: ``clock_timestamp()`` is read after the lock is granted. SQLite reads
    the host clock (milliseconds).
    """
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(select(func.clock_timestamp()))
        assert isinstance(value, dt.datetime)
        return value.astimezone(dt.UTC)
    text = session.scalar(select(func.strftime("%Y-%m-%d %H:%M:%f", "now")))
    return dt.datetime.fromisoformat(str(text)).replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class TrunkBudget:
    """How many calls a claim may start on a trunk now, and the stamp to write on each."""

    trunk: str
    allowed: int
    stamp: dt.datetime
    #: Why fewer than asked (for the log): ``lines`` or ``cps``; None: not limited.
    limited_by: str | None = None


def trunk_budget(session: Session, name: str, wanted: int) -> TrunkBudget:
    """Lock trunk ``name``'s row and say how many of ``wanted`` calls may start on it now.

    Call it inside the claim's writer transaction, before any campaign is locked; the budget is good
    until that transaction commits. A trunk without a row (no limits set) allows everything.
    """
    query = select(Trunk).where(Trunk.name == name).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    trunk = session.scalars(query).one_or_none()
    stamp = database_now(session)  # after the lock: later than every stamp already committed
    allowed, limited_by = wanted, None
    if trunk is not None and trunk.max_lines is not None:
        free = trunk.max_lines - lines_in_use(session, name)
        if free < allowed:
            allowed, limited_by = free, "lines"
    if trunk is not None and trunk.max_cps is not None and allowed > 0:
        free = trunk.max_cps - starts_since(session, name, stamp - WINDOW)
        if free < allowed:
            allowed, limited_by = free, "cps"
    return TrunkBudget(name, max(0, allowed), stamp, limited_by)
