"""/v1/exports: results as a CSV file or JSON lines, filtered like /v1/results, streamed.

Strategy keys and admins get full phone numbers; operators (who analyse results but do not call people)
get them masked and no transcripts. A key exports only its own tenant's results.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from waihu.service.api.deps import AnyRole, SettingsDep
from waihu.service.api.responses import AUTH, errors
from waihu.service.api.result_filters import ResultFilters, ResultFiltersDep
from waihu.service.exports import csv_chunks, iter_rows, jsonl_chunks
from waihu.service.masking import sees_full_numbers
from waihu.service.models import ApiKey
from waihu.service.post_call import notifications_of
from waihu.service.problems import problem
from waihu.service.views import AttemptView, masked

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=errors(*AUTH, 422))

_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "UTF-8 CSV with BOM."}
}
_JSONL: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        "description": "One JSON result per line.",
    }
}


def _filename(filters: ResultFilters, extension: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"campaign-{filters.campaign_id}" if filters.campaign_id is not None else "all"
    return f"results-{scope}-{stamp}.{extension}"


def _stream(
    state: SettingsDep, key: ApiKey, filters: ResultFilters, kind: str, *, transcript: bool = False
) -> StreamingResponse:
    role, tenant = key.role, key.tenant

    def view(attempt: Any, contact: Any) -> dict[str, Any]:
        row = masked(AttemptView.from_row(attempt, contact, with_transcript=transcript), role)
        return row.model_dump(exclude_unset=True)  # no transcript key unless asked for

    def notifications(attempt_ids: list[str]) -> dict[str, dict[str, Any]]:
        with state.factory() as session:  # a short session per batch, like the rows'
            found = notifications_of(session, attempt_ids)
        return {attempt_id: {"notifications": notes} for attempt_id, notes in found.items()}

    batches = iter_rows(state.factory, tenant, filters, with_transcript=transcript)
    chunks: Iterator[bytes] = (
        csv_chunks(batches, view) if kind == "csv" else jsonl_chunks(batches, view, notifications)
    )
    log.info("results export (%s) for key %s of tenant %s: %s", kind, key.id, tenant, filters)
    media = "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson; charset=utf-8"
    disposition = f'attachment; filename="{_filename(filters, kind)}"'
    return StreamingResponse(chunks, media_type=media, headers={"Content-Disposition": disposition})


@router.get(
    "/results.csv",
    summary="Export results as CSV (Excel-ready)",
    response_class=StreamingResponse,
    responses=_CSV,
)
def export_csv(state: SettingsDep, key: AnyRole, filters: ResultFiltersDep) -> StreamingResponse:
    """Finished attempts matching the filters of ``/v1/results``, oldest first, as UTF-8 CSV with a BOM.

    Lists (tags, KB hits) are joined with ``|``; cells a spreadsheet would run as a formula start with
    ``'``. Streamed: any number of rows in bounded memory."""
    return _stream(state, key, filters, "csv")


@router.get(
    "/results.jsonl",
    summary="Export results as JSON lines",
    response_class=StreamingResponse,
    responses=_JSONL | errors(403),
)
def export_jsonl(
    state: SettingsDep,
    key: AnyRole,
    filters: ResultFiltersDep,
    transcript: Annotated[bool, Query(description="Include each transcript (not for operators).")] = False,
) -> StreamingResponse:
    """Finished attempts matching the filters of ``/v1/results``, one ``/v1/results`` item per line
    (with its post-call notifications)."""
    if transcript and not sees_full_numbers(key.role):
        raise problem(status.HTTP_403_FORBIDDEN, "export_transcript_forbidden", role=key.role)
    return _stream(state, key, filters, "jsonl", transcript=transcript)
