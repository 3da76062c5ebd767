"""Choosing a human seat for a transfer: only the calling campaign's tenant's seats are candidates.

A worker serves every tenant, so a transfer must not pick another tenant's agent just because the skill
group has the same name (``default`` is common to all). Use :func:`available_seat` with the claim's
``tenant`` (``Claim.tenant``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from waihu.service.models import Seat


def available_seat(session: Session, tenant: str, skill_group: str) -> Seat | None:
    """The first available seat of ``tenant`` in ``skill_group`` (lowest id), or None."""
    return session.scalars(
        select(Seat)
        .where(Seat.tenant == tenant, Seat.available.is_(True), Seat.skill_group == skill_group)
        .order_by(Seat.id)
        .limit(1)
    ).first()
