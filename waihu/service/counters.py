"""Live counters of a campaign: contacts by state, finished ones by outcome and grade, lines in use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from waihu.service.models import Attempt, Contact
from waihu.service.outcomes import IN_PROGRESS


def campaign_counters(session: Session, campaign_id: int) -> dict[str, Any]:
    """``{"total", "pending", "dialling", "in_call", "done", "done_by_outcome", "done_by_grade", ...}``."""
    by_state = dict(
        session.execute(
            select(Contact.state, func.count())
            .where(Contact.campaign_id == campaign_id)
            .group_by(Contact.state)
        ).all()
    )
    done_rows = session.execute(
        select(Contact.final_outcome, Contact.final_grade, func.count())
        .where(Contact.campaign_id == campaign_id, Contact.state == "done")
        .group_by(Contact.final_outcome, Contact.final_grade)
    ).all()
    by_outcome: dict[str, int] = {}
    by_grade: dict[str, int] = {}
    for outcome, grade, count in done_rows:
        by_outcome[outcome or "unknown"] = by_outcome.get(outcome or "unknown", 0) + count
        if grade:
            by_grade[grade] = by_grade.get(grade, 0) + count
    lines = session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.campaign_id == campaign_id, Attempt.status.in_(IN_PROGRESS))
    )
    attempts = session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.campaign_id == campaign_id)
    )
    return {
        "total": sum(by_state.values()),
        "pending": by_state.get("pending", 0),
        "dialling": by_state.get("dialling", 0),
        "in_call": by_state.get("in_call", 0),
        "done": by_state.get("done", 0),
        "done_by_outcome": dict(sorted(by_outcome.items())),
        "done_by_grade": dict(sorted(by_grade.items())),
        "lines_in_use": int(lines or 0),
        "attempts": int(attempts or 0),
    }
