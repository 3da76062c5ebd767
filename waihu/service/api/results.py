"""/v1/results: per-attempt results queried by campaign, outcome, grade and end time; cursor-paginated."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from waihu.service.api.deps import SessionDep, Strategy
from waihu.service.api.errors import field_error
from waihu.service.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, page
from waihu.service.api.responses import AUTH, errors
from waihu.service.api.result_filters import ResultFiltersDep, after
from waihu.service.api.scope import attempt_of
from waihu.service.masking import for_role
from waihu.service.models import Contact
from waihu.service.post_call import notifications_of
from waihu.service.views import attempt_view

router = APIRouter(prefix="/v1/results", tags=["results"], responses=errors(*AUTH, 422))


@router.get("", summary="Query results of finished attempts")
def list_results(
    session: SessionDep,
    key: Strategy,
    filters: ResultFiltersDep,
    transcript: Annotated[bool, Query(description="Include the transcript with the trace.")] = False,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Finished attempts in order of end time (oldest first), so a poller can resume from its cursor.

    Filter by campaign, outcome, grade, reference id, A/B variant and end time."""
    query = filters.query(key.tenant).limit(limit + 1)
    if cursor:
        last_end, last_id = decode_cursor(cursor, (str, str))
        try:
            last_at = dt.datetime.fromisoformat(last_end)
        except ValueError as exc:
            raise field_error(["query", "cursor"], "not a cursor returned by this API") from exc
        query = after(query, last_at, last_id)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    notes = notifications_of(session, [attempt.id for attempt, _contact in rows])
    items = [
        for_role(attempt_view(attempt, contact, with_transcript=transcript), key.role)
        | {"notifications": notes[attempt.id]}
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
    view = for_role(attempt_view(attempt, session.get(Contact, attempt.contact_id)), key.role)
    return view | {"notifications": notifications_of(session, [attempt.id])[attempt.id]}
