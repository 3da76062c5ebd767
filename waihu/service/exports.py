"""Results exports: CSV for spreadsheets and JSON lines for programs, streamed in keyset batches.

The CSV starts with a UTF-8 byte-order mark so that Excel opens Chinese text correctly, and every cell
that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return first,
possibly after spaces) is prefixed with ``'``: reference ids, tags, grade labels and SIP reason phrases
come from strategy systems, flows and carriers, and ``=HYPERLINK(...)`` in one of them must stay text
(CSV injection, OWASP). Rows are read ``batch`` at a time, each batch in its own short session, so memory
stays bounded however many rows match and no read transaction is held while the client downloads.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session, defer, sessionmaker

from waihu.service.api.result_filters import ResultFilters, after
from waihu.service.models import Attempt

#: The CSV columns, in order: fields of :class:`waihu.service.views.AttemptView`.
CSV_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "campaign_id",
    "reference_id",
    "phone",
    "caller_number",
    "attempt_number",
    "flow_id",
    "flow_version",
    "variant",
    "outcome",
    "sip_code",
    "sip_reason",
    "hangup_by",
    "hangup_reason",
    "answer_at",
    "end_at",
    "ring_s",
    "duration_s",
    "rounds",
    "grade",
    "grade_label",
    "tags",
    "kb_hits",
)
BOM = "\ufeff"
#: First characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_BATCH = 1000

#: Turns one ``(attempt, contact)`` row into the view to export (role masking applied).
RowView = Callable[[Any, Any], dict[str, Any]]
#: Extra fields by attempt id for a batch of attempt ids (e.g. post-call notifications).
BatchExtra = Callable[[list[str]], dict[str, dict[str, Any]]]


def neutralise(cell: str) -> str:
    """``cell`` made inert for spreadsheets: a formula-leading cell gets a ``'`` in front."""
    if cell.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_cell(value: Any) -> str:
    """One CSV cell: lists joined with ``|``, None empty, numbers as written, strings neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return neutralise("|".join(str(item) for item in value))
    return neutralise(str(value))


def iter_rows(
    factory: sessionmaker[Session],
    tenant: str,
    filters: ResultFilters,
    *,
    with_transcript: bool = False,
    batch: int = DEFAULT_BATCH,
) -> Iterator[list[Any]]:
    """Batches of ``(attempt, contact)`` rows matching ``filters``, each read in a fresh session."""
    base = filters.query(tenant).limit(batch)
    if not with_transcript:
        base = base.options(defer(Attempt.transcript))  # the biggest column, not wanted in CSV
    last: tuple[Any, str] | None = None
    while True:
        query = base if last is None else after(base, *last)
        with factory() as session:
            rows = list(session.execute(query).all())
        if not rows:
            return
        yield rows
        final = rows[-1][0]
        last = (final.end_at, final.id)
        if len(rows) < batch:
            return


def csv_chunks(batches: Iterable[list[Any]], view: RowView) -> Iterator[bytes]:
    """The CSV document, one chunk per batch: BOM and header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield (BOM + buffer.getvalue()).encode()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        for attempt, contact in rows:
            shown = view(attempt, contact)
            writer.writerow([csv_cell(shown.get(column)) for column in CSV_COLUMNS])
        yield buffer.getvalue().encode()


def jsonl_chunks(
    batches: Iterable[list[Any]], view: RowView, extra: BatchExtra | None = None
) -> Iterator[bytes]:
    """One JSON object per line (UTF-8, not ASCII-escaped), one chunk per batch; ``extra`` adds fields
    to each attempt's object, looked up once per batch."""
    for rows in batches:
        more = extra([attempt.id for attempt, _contact in rows]) if extra else {}
        lines = [
            json.dumps(view(attempt, contact) | more.get(attempt.id, {}), ensure_ascii=False)
            for attempt, contact in rows
        ]
        yield ("\n".join(lines) + "\n").encode()
