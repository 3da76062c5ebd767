"""The campaign dashboard's numbers: counters, outcome funnel, grades, turn latency, recent calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from waihu.service.counters import campaign_counters
from waihu.service.models import Attempt, Campaign, Contact
from waihu.service.views import CampaignView, iso

#: The dashboard funnel's stages, in order (the console words them: ``enum.funnel.<stage>``).
FUNNEL_STAGES: tuple[str, ...] = ("dialled", "answered", "talked", "graded A/B", "transferred")
#: How a latency point was obtained (the console words them: ``enum.latency_basis.<basis>``).
LATENCY_BASES: tuple[str, ...] = ("measured", "duration/rounds")
#: Keys a transcript turn may carry a measured robot latency under (milliseconds), newest first.
_LATENCY_KEYS = ("latency_ms", "response_ms", "turn_latency_ms")


def _funnel(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    answered = Attempt.outcome == "answered"
    row = session.execute(
        select(
            func.count(),
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((answered & (Attempt.rounds > 0), 1), else_=0)),
            func.sum(case((Attempt.grade.in_(("A", "B")), 1), else_=0)),
            # The transfer record (migration 0009): a seat answered; bridged calls never hang up "seat"
            # when the callee leaves first, so hangup_by cannot tell.
            func.sum(case((Attempt.transfer_answered.is_(True), 1), else_=0)),
        ).where(Attempt.campaign_id == campaign_id)
    ).one()
    counts: list[Any] = list(row)  # SQL sums: int or None
    return [
        {"stage": stage, "count": int(value or 0)} for stage, value in zip(FUNNEL_STAGES, counts, strict=True)
    ]


def _latency(attempt: Attempt) -> tuple[float, str] | None:
    measured = [
        float(turn[key])
        for turn in attempt.transcript or []
        if isinstance(turn, dict)
        for key in _LATENCY_KEYS
        if isinstance(turn.get(key), int | float)
    ]
    if measured:
        return sum(measured) / len(measured) / 1000.0, LATENCY_BASES[0]
    if attempt.answer_at and attempt.end_at and attempt.rounds:
        return (attempt.end_at - attempt.answer_at).total_seconds() / attempt.rounds, LATENCY_BASES[1]
    return None


def campaign_stats(session: Session, campaign: Campaign, recent: int = 100) -> dict[str, Any]:
    """Everything the live dashboard polls, in one query round."""
    attempts = list(
        session.execute(
            select(Attempt, Contact.reference_id)
            .join(Contact, Contact.id == Attempt.contact_id)
            .where(Attempt.campaign_id == campaign.id, Attempt.status == "finished")
            .order_by(Attempt.end_at.desc(), Attempt.id.desc())
            .limit(recent)
        ).all()
    )
    points = []
    kinds: set[str] = set()
    for attempt, _ref in reversed(attempts):
        latency = _latency(attempt)
        if latency is not None:
            seconds = round(latency[0], 3)
            points.append({"attempt_id": attempt.id, "end_at": iso(attempt.end_at), "s": seconds})
            kinds.add(latency[1])
    calls = [
        {
            "attempt_id": attempt.id,
            "reference_id": reference_id,
            "phone": attempt.phone,
            "outcome": attempt.outcome,
            "grade": attempt.grade,
            "rounds": attempt.rounds,
            "end_at": iso(attempt.end_at),
            "tags": list(attempt.tags or []),
        }
        for attempt, reference_id in attempts[:20]
    ]
    return {
        "campaign": CampaignView.from_row(campaign).model_dump(),
        "counters": campaign_counters(session, campaign.id),
        "funnel": _funnel(session, campaign.id),
        "latency": {"points": points, "basis": " + ".join(sorted(kinds, reverse=True))},
        "recent": calls,
    }
