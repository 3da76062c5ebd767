"""/v1/results: per-attempt results queried by campaign, outcome, grade and end time; cursor-paginated."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import and_, or_, select

from waihu.service.api.deps import SessionDep, Strategy
from waihu.service.api.errors import field_error
from waihu.service.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, page
from waihu.service.api.responses import AUTH, errors
from waihu.service.api.scope import attempt_of, campaign_ids
from waihu.service.masking import for_role
from waihu.service.models import Attempt, Contact
from waihu.service.outcomes import AttemptOutcome
from waihu.service.views import attempt_view

router = APIRouter(prefix="/v1/results", tags=["results"], responses=errors(*AUTH, 422))


def _aware(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise field_error(["query", name], "needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    return value


@router.get("", summary="Query results of finished attempts")
def list_results(
    session: SessionDep,
    key: Strategy,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    outcome: Annotated[AttemptOutcome | None, Query()] = None,
    grade: Annotated[str | None, Query(max_length=8)] = None,
    reference_id: Annotated[str | None, Query(max_length=128)] = None,
    ended_after: Annotated[dt.datetime | None, Query(description="Inclusive, ISO 8601 with zone.")] = None,
    ended_before: Annotated[dt.datetime | None, Query(description="Exclusive, ISO 8601 with zone.")] = None,
    transcript: Annotated[bool, Query(description="Include the transcript with the trace.")] = False,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Finished attempts in order of end time (oldest first), so a poller can resume from its cursor."""
    after, before = _aware(ended_after, "ended_after"), _aware(ended_before, "ended_before")
    query = (
        select(Attempt, Contact)
        .join(Contact, Contact.id == Attempt.contact_id)
        .where(Attempt.status == "finished", Attempt.campaign_id.in_(campaign_ids(key.tenant)))
        .order_by(Attempt.end_at, Attempt.id)
        .limit(limit + 1)
    )
    if campaign_id is not None:
        query = query.where(Attempt.campaign_id == campaign_id)
    if outcome:
        query = query.where(Attempt.outcome == outcome)
    if grade:
        query = query.where(Attempt.grade == grade)
    if reference_id:
        query = query.where(Contact.reference_id == reference_id)
    if after:
        query = query.where(Attempt.end_at >= after)
    if before:
        query = query.where(Attempt.end_at < before)
    if cursor:
        last_end, last_id = decode_cursor(cursor, (str, str))
        try:
            last_at = dt.datetime.fromisoformat(last_end)
        except ValueError as exc:
            raise field_error(["query", "cursor"], "not a cursor returned by this API") from exc
        query = query.where(
            or_(Attempt.end_at > last_at, and_(Attempt.end_at == last_at, Attempt.id > last_id))
        )
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        for_role(attempt_view(attempt, contact, with_transcript=transcript), key.role)
        for attempt, contact in rows
    ]
    next_cursor = None
    if more and rows:
        last = rows[-1][0]
        next_cursor = encode_cursor(last.end_at.isoformat() if last.end_at else "", last.id)
    return page(items, next_cursor)


@router.get("/{attempt_id}", summary="One attempt's result with transcript and trace", responses=errors(404))
def get_result(
    attempt_id: Annotated[str, Path(min_length=1, max_length=32)], session: SessionDep, key: Strategy
) -> dict[str, Any]:
    """Outcome, SIP code, hang-up side, times, duration, rounds, grade, tags, KB hits, transcript."""
    attempt = attempt_of(session, key, attempt_id)
    return for_role(attempt_view(attempt, session.get(Contact, attempt.contact_id)), key.role)
