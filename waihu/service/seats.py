"""Choosing a human seat for a transfer: only the calling campaign's tenant's seats are candidates.

A worker serves every tenant, so a transfer must not pick another tenant's agent just because the skill
group has the same name (``default`` is common to all). Seats are *claimed* (:func:`claim_seat`) with a
conditional UPDATE, so two calls on two workers never ring the same seat; a claimed seat is ``busy``
until :func:`release_seat` frees it when its leg ends. A seat left busy by a worker that died is free
again once its attempt is no longer in progress (recovered as ``lost`` or finished).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Literal

from sqlalchemy import ColumnElement, exists, not_, or_, select, update
from sqlalchemy.orm import Session

from waihu.service.db import begin_write
from waihu.service.models import Attempt, Seat, utcnow
from waihu.service.outcomes import IN_PROGRESS

Strategy = Literal["round_robin", "longest_idle"]


def available_seat(session: Session, tenant: str, skill_group: str) -> Seat | None:
    """The first available seat of ``tenant`` in ``skill_group`` (lowest id), or None."""
    return session.scalars(
        select(Seat)
        .where(Seat.tenant == tenant, Seat.available.is_(True), Seat.skill_group == skill_group)
        .order_by(Seat.id)
        .limit(1)
    ).first()


def _free() -> ColumnElement[bool]:
    """SQL: the seat is not on a live transfer leg."""
    holder_live = exists().where(Attempt.id == Seat.busy_attempt, Attempt.status.in_(IN_PROGRESS))
    return or_(Seat.busy.is_(False), not_(holder_live))


def candidates(
    session: Session, tenant: str, group: str, strategy: Strategy, exclude: Collection[int] = ()
) -> list[int]:
    """Ids of the free, available seats of ``tenant`` in ``group``, best first.

    ``round_robin``: the seat offered least recently first (never offered: first); ``longest_idle``: the
    seat idle longest first (never on a call: first). Ties go to the lowest id.
    """
    key = Seat.last_offered_at if strategy == "round_robin" else Seat.last_idle_at
    query = (
        select(Seat.id)
        .where(Seat.tenant == tenant, Seat.skill_group == group, Seat.available.is_(True), _free())
        .order_by(key.is_not(None), key, Seat.id)
    )
    if exclude:
        query = query.where(Seat.id.not_in(list(exclude)))
    return list(session.scalars(query))


def claim_seat(
    session: Session,
    tenant: str,
    group: str,
    attempt_id: str,
    *,
    strategy: Strategy = "round_robin",
    exclude: Collection[int] = (),
    now: dt.datetime | None = None,
) -> Seat | None:
    """Mark the best free seat busy for ``attempt_id`` and return it (None: no seat free); commits.

    Each candidate is taken by ``UPDATE … WHERE id = :id AND <free>``: of two workers racing for it,
    only one updates a row (PostgreSQL), the other moves on to the next candidate; on SQLite the
    transaction takes the write lock before reading (``BEGIN IMMEDIATE``), so claims are serialised.
    """
    now = now or utcnow()
    session.commit()  # end the caller's transaction: the claim is a writer's from its first read
    begin_write(session)
    try:
        for seat_id in candidates(session, tenant, group, strategy, exclude):
            taken = session.execute(
                update(Seat)
                .where(Seat.id == seat_id, Seat.available.is_(True), _free())
                .values(busy=True, busy_attempt=attempt_id, busy_since=now, last_offered_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(taken, "rowcount", 0) == 1:
                session.commit()
                return session.get(Seat, seat_id, populate_existing=True)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return None


def release_seat(session: Session, seat_id: int, attempt_id: str, now: dt.datetime | None = None) -> bool:
    """Free the seat ``attempt_id`` holds (idle from ``now``); False when another call holds it; commits."""
    session.commit()
    begin_write(session)
    freed = session.execute(
        update(Seat)
        .where(Seat.id == seat_id, Seat.busy_attempt == attempt_id)
        .values(busy=False, busy_attempt=None, busy_since=None, last_idle_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return getattr(freed, "rowcount", 0) == 1
