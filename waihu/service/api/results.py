"""/v1/results: per-attempt results queried by campaign, outcome, grade and end time; cursor-paginated."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from waihu.service.api.deps import SessionDep, Strategy
from waihu.service.api.errors import field_error
from waihu.service.api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from waihu.service.api.responses import AUTH, errors
from waihu.service.api.result_filters import ResultFiltersDep, after
from waihu.service.api.scope import attempt_of
from waihu.service.models import Contact
from waihu.service.post_call import notifications_of
from waihu.service.views import AttemptView, OpenModel, masked

router = APIRouter(prefix="/v1/results", tags=["results"], responses=errors(*AUTH, 422))


class Notification(OpenModel):
    """A post-call notify event of the attempt and how its delivery went."""

    event_id: str
    rule: str | None
    text: str | None
    status: str = Field(description="pending, retrying, delivered, failed or skipped.")
    tries: int
    last_status: int | None
    last_error: str | None
    settled_at: str | None = Field(json_schema_extra={"format": "date-time"})


class ResultPublic(AttemptView):
    """One attempt's result with its post-call notifications."""

    notifications: list[Notification]


class ResultsPublic(Page[ResultPublic]):
    """A page of results in order of end time (oldest first)."""


def result_public(view: AttemptView, notifications: list[dict[str, Any]]) -> ResultPublic:
    """``view`` with ``notifications``; fields it leaves unset (the transcript) stay unset."""
    fields = view.model_dump(exclude_unset=True)
    return ResultPublic(**fields, notifications=[Notification(**note) for note in notifications])


@router.get(
    "",
    summary="Query results of finished attempts",
    response_model=ResultsPublic,
    response_model_exclude_unset=True,
)
def list_results(
    session: SessionDep,
    key: Strategy,
    filters: ResultFiltersDep,
    transcript: Annotated[bool, Query(description="Include the transcript with the trace.")] = False,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> ResultsPublic:
    """Finished attempts in order of end time (oldest first), so a poller can resume from its cursor.

    Filter by campaign, outcome, grade, reference id, A/B variant and end time."""
    query = filters.query(key.tenant).limit(limit + 1)
    if cursor:
        last_end, last_id = decode_cursor(cursor, (str, str))
        try:
            last_at = dt.datetime.fromisoformat(last_end)
        except ValueError as exc:
            raise field_error(["query", "cursor"], "cursor_invalid") from exc
        query = after(query, last_at, last_id)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    notes = notifications_of(session, [attempt.id for attempt, _contact in rows])
    items = [
        result_public(
            masked(AttemptView.from_row(attempt, contact, with_transcript=transcript), key.role),
            notes[attempt.id],
        )
        for attempt, contact in rows
    ]
    next_cursor = None
    if more and rows:
        last = rows[-1][0]
        next_cursor = encode_cursor(last.end_at.isoformat() if last.end_at else "", last.id)
    return ResultsPublic(items=items, next_cursor=next_cursor)


@router.get(
    "/{attempt_id}",
    summary="One attempt's result with transcript and trace",
    response_model=ResultPublic,
    responses=errors(404),
)
def get_result(
    attempt_id: Annotated[str, Path(min_length=1, max_length=32)], session: SessionDep, key: Strategy
) -> ResultPublic:
    """Outcome, SIP code, hang-up side, times, duration, rounds, grade, tags, KB hits, transcript."""
    attempt = attempt_of(session, key, attempt_id)
    view = masked(AttemptView.from_row(attempt, session.get(Contact, attempt.contact_id)), key.role)
    return result_public(view, notifications_of(session, [attempt.id])[attempt.id])
