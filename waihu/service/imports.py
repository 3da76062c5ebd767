"""Contact import from JSON or CSV: per-row validation, idempotent by ``reference_id``.

Valid rows are stored even when others fail; each failure names its row (1-based data row; for CSV also
the file line) and field. A ``reference_id`` already in the campaign is left untouched (``existing``), so
re-sending a batch never duplicates contacts. A phone number is dialled once per campaign: a row whose
number is already in the campaign (or on an earlier row of the same import) under another
``reference_id`` is refused with a ``phone`` error naming that ``reference_id``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from waihu.service.models import Contact, utcnow
from waihu.service.phones import DEFAULT_REGION, PhoneError, normalise_phone
from waihu.service.problems import Param, Sentence, sentence

MAX_VARIABLES = 50
MAX_VARIABLE_CHARS = 1000
_CHUNK = 1000
ANALYZE_AFTER_ROWS = 10_000
#: First key of the advisory lock that serialises imports per campaign on PostgreSQL ("wimp").
_IMPORT_LOCK = 0x77696D70
#: Accepted spellings of the standard columns/keys (strategy systems use camelCase too).
ALIASES = {
    "reference_id": "reference_id",
    "referenceid": "reference_id",
    "reference": "reference_id",
    "ref": "reference_id",
    "phone": "phone",
    "phonenumber": "phone",
    "phone_number": "phone",
    "mobile": "phone",
    "name": "name",
    "variables": "variables",
    "extras": "variables",
    "properties": "variables",
}


@dataclass(frozen=True)
class RowError:
    """One rejected row."""

    row: int
    field: str
    message: str
    reference_id: str | None = None
    line: int | None = None
    #: The message's registry code and params (:mod:`waihu.service.problems`), for clients that word it.
    code: str | None = None
    params: dict[str, Param] | None = None


def row_error(row: int, field_name: str, message: str, ref: str | None, line: int | None) -> RowError:
    """A :class:`RowError` whose code and params come from ``message`` when it is a registry sentence."""
    if isinstance(message, Sentence):
        return RowError(row, field_name, str(message), ref, line, message.code, message.params)
    return RowError(row, field_name, message, ref, line)


@dataclass(frozen=True)
class MergedRow:
    """A row not added because its phone belongs to another contact of the campaign (``into``)."""

    row: int
    reference_id: str
    into: str
    line: int | None = None


@dataclass
class ImportReport:
    """How an import went. ``merged``: the rows refused (also in ``errors``, field ``phone``) because
    their phone is the campaign's already: one active contact per phone per campaign."""

    received: int = 0
    created: int = 0
    existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    created_reference_ids: list[str] = field(default_factory=list)
    merged: list[MergedRow] = field(default_factory=list)


@dataclass(frozen=True)
class RawRow:
    """One input row before validation, with where it came from."""

    row: int
    data: Any
    line: int | None = None


VariableValue = Annotated[str, Field(max_length=MAX_VARIABLE_CHARS)] | int | float | bool


class ContactCreate(BaseModel):
    """One contact to import: the API documents this model and every valid row is one.

    Keys are read case-insensitively, with aliases (referenceId, phoneNumber, mobile, extras,
    properties); other keys are refused per row (custom values go under ``variables``), the other rows
    still import. Variable values are stored as text.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    reference_id: str = Field(
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("reference_id", "referenceId", "reference", "ref"),
        description="The strategy system's id of the contact; importing it again leaves it as it is.",
    )
    phone: str = Field(
        min_length=1,
        max_length=40,
        validation_alias=AliasChoices("phone", "phoneNumber", "phone_number", "mobile"),
        examples=["+8613800001234", "13800001234"],
    )
    name: str = Field(default="", max_length=200)
    variables: dict[Annotated[str, Field(max_length=64)], VariableValue] = Field(
        default_factory=dict,
        max_length=MAX_VARIABLES,
        validation_alias=AliasChoices("variables", "extras", "properties"),
    )


class ImportFormatError(ValueError):
    """The whole body is unreadable (not JSON/CSV, no header, too many rows)."""


def rows_from_json(payload: Any, max_rows: int) -> list[RawRow]:
    """Rows from ``{"contacts": [...]}`` or a bare list."""
    items = payload.get("contacts") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise ImportFormatError(sentence("contacts_json_shape", shape='{"contacts": [...]}'))
    if len(items) > max_rows:
        raise ImportFormatError(sentence("contacts_too_many", max_rows=max_rows, count=len(items)))
    return [RawRow(index + 1, item) for index, item in enumerate(items)]


def rows_from_csv(data: bytes, max_rows: int) -> list[RawRow]:
    """Rows from CSV with a header: reference_id, phone, name; every other column is a variable."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(sentence("csv_not_utf8", reason=str(exc))) from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ImportFormatError(sentence("csv_empty")) from exc
    except csv.Error as exc:
        raise ImportFormatError(sentence("csv_header_unreadable", reason=str(exc))) from exc
    columns = [cell.strip() for cell in header]
    if not any(ALIASES.get(column.lower()) == "phone" for column in columns):
        raise ImportFormatError(sentence("csv_no_phone_column"))
    rows: list[RawRow] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_rows:
                raise ImportFormatError(sentence("contacts_too_many_rows", max_rows=max_rows))
            record: dict[str, Any] = {"variables": {}}
            for column, cell in zip(columns, cells, strict=False):
                key = ALIASES.get(column.lower())
                if key in ("reference_id", "phone", "name"):
                    record[key] = cell.strip()
                elif column:
                    record["variables"][column] = cell
            if len(cells) > len(columns):
                record["__extra_cells__"] = len(cells) - len(columns)
            rows.append(RawRow(len(rows) + 1, record, reader.line_num))
    except csv.Error as exc:
        raise ImportFormatError(
            sentence("csv_line_unreadable", line=reader.line_num, reason=str(exc))
        ) from exc
    return rows


def _validate(raw: RawRow, region: str) -> tuple[dict[str, Any] | None, RowError | None]:
    def error(field_name: str, message: str, ref: str | None = None) -> tuple[None, RowError]:
        return None, row_error(raw.row, field_name, message, ref, raw.line)

    if not isinstance(raw.data, dict):
        return error("", sentence("row_not_object"))
    data = {ALIASES.get(str(key).lower(), str(key)): value for key, value in raw.data.items()}
    ref = data.get("reference_id")
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref.strip():
        return error("reference_id", sentence("row_reference_required"))
    ref = ref.strip()
    if len(ref) > 128:
        return error("reference_id", sentence("row_reference_too_long", max_chars=128), ref[:128])
    if data.get("__extra_cells__"):
        return error("", sentence("row_extra_cells", count=data["__extra_cells__"]), ref)
    phone = data.get("phone")
    if isinstance(phone, int) and not isinstance(phone, bool):
        phone = str(phone)
    if not isinstance(phone, str):
        return error("phone", sentence("row_phone_required"), ref)
    try:
        phone = normalise_phone(phone, region)
    except PhoneError as exc:
        return error("phone", exc.args[0], ref)  # phones.py's sentence, with its code
    name = data.get("name") or ""
    if not isinstance(name, str) or len(name) > 200:
        return error("name", sentence("row_name_invalid", max_chars=200), ref)
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return error("variables", sentence("row_variables_not_object"), ref)
    if len(variables) > MAX_VARIABLES:
        return error("variables", sentence("row_too_many_variables", max_count=MAX_VARIABLES), ref)
    clean: dict[str, VariableValue] = {}  # values are text; typed as the model takes them
    for key, value in variables.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            return error(f"variables.{key}", sentence("row_variable_type"), ref)
        text = str(value)
        if len(text) > MAX_VARIABLE_CHARS or len(str(key)) > 64:
            too_long = sentence("row_variable_too_long", max_name=64, max_chars=MAX_VARIABLE_CHARS)
            return error(f"variables.{key}", too_long, ref)
        clean[str(key)] = text
    unknown = set(data) - {"reference_id", "phone", "name", "variables", "__extra_cells__"}
    if unknown:
        return error(sorted(unknown)[0], sentence("row_unknown_field"), ref)
    try:  # the row as the API documents it (the checks above gave the messages)
        record = ContactCreate(reference_id=ref, phone=phone, name=name, variables=clean)
    except ValidationError as exc:
        first = exc.errors()[0]
        return error(".".join(str(part) for part in first["loc"]), first["msg"], ref)
    return record.model_dump(), None


@dataclass
class ValidatedRows:
    """Rows checked without touching the database: the valid records by reference id, and a report."""

    valid: dict[str, dict[str, Any]]
    report: ImportReport
    #: reference_id → (row number, CSV line) (for errors found against the database).
    rows: dict[str, tuple[int, int | None]] = field(default_factory=dict)


def import_contacts(
    session: Session,
    campaign_id: int,
    rows: list[RawRow],
    *,
    region: str = DEFAULT_REGION,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Validate ``rows`` and insert the new contacts as pending, due ``now`` (caller commits).

    Phone numbers without ``+``/``00`` are read as numbers of ``region`` (ISO 3166, e.g. ``CN``).
    """
    return insert_contacts(session, campaign_id, validate_rows(rows, region=region), now=now)


def validate_rows(rows: list[RawRow], *, region: str = DEFAULT_REGION) -> ValidatedRows:
    """Check every row (no database access: run it before taking a write lock)."""
    report = ImportReport(received=len(rows))
    valid: dict[str, dict[str, Any]] = {}
    rows_of: dict[str, tuple[int, int | None]] = {}
    for raw in rows:
        record, error = _validate(raw, region)
        if error is not None:
            report.errors.append(error)
        elif record is not None and record["reference_id"] in valid:
            duplicate = sentence("row_duplicate_reference")
            report.errors.append(
                row_error(raw.row, "reference_id", duplicate, record["reference_id"], raw.line)
            )
        elif record is not None:
            valid[record["reference_id"]] = record
            rows_of[record["reference_id"]] = (raw.row, raw.line)
    return ValidatedRows(valid, report, rows_of)


def _one_contact_per_phone(session: Session, campaign_id: int, checked: ValidatedRows) -> None:
    """Refuse (as row errors) valid rows whose phone the campaign already has under another
    reference_id, or an earlier row of this import has; rows whose reference_id exists stay."""
    valid, report = checked.valid, checked.report
    refs = sorted(valid, key=lambda ref: checked.rows.get(ref, (0, None))[0])
    taken: dict[str, tuple[str, int | None]] = {}  # phone → (reference_id, its row in this import)
    for start in range(0, len(refs), _CHUNK):
        chunk = refs[start : start + _CHUNK]
        known_refs = set(
            session.scalars(
                select(Contact.reference_id).where(
                    Contact.campaign_id == campaign_id, Contact.reference_id.in_(chunk)
                )
            )
        )
        for phone, holder in session.execute(
            select(Contact.phone, Contact.reference_id).where(
                Contact.campaign_id == campaign_id,
                Contact.phone.in_(sorted({valid[ref]["phone"] for ref in chunk})),
            )
        ):
            taken.setdefault(phone, (holder, None))
        for ref in chunk:
            if ref in known_refs:
                continue  # an existing reference_id is left as it is ("existing")
            phone = valid[ref]["phone"]
            holder, holder_row = taken.setdefault(phone, (ref, checked.rows.get(ref, (0, None))[0]))
            if holder == ref:
                continue
            del valid[ref]
            row, line = checked.rows.get(ref, (0, None))
            same = (
                sentence("row_phone_in_campaign", holder=holder)
                if holder_row is None
                else sentence("row_phone_in_import", holder=holder, holder_row=holder_row)
            )
            report.merged.append(MergedRow(row, ref, holder, line))
            report.errors.append(row_error(row, "phone", same, ref, line))
    report.errors.sort(key=lambda error: error.row)


def insert_contacts(
    session: Session, campaign_id: int, checked: ValidatedRows, *, now: dt.datetime | None = None
) -> ImportReport:
    """Insert the valid rows of ``checked`` as pending contacts due ``now`` (caller commits)."""
    now = now or utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:  # imports into one campaign serialise: two cannot both add the same new phone
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _IMPORT_LOCK, "b": campaign_id})
    _one_contact_per_phone(session, campaign_id, checked)
    valid, report = checked.valid, checked.report
    insert = pg_insert if postgres else sqlite_insert
    refs = list(valid)
    table = cast(Table, Contact.__table__)
    # ON CONFLICT DO NOTHING on the (campaign_id, reference_id) unique index decides what is new: no
    # look-up query per chunk, and a concurrent import of the same ids cannot duplicate them either.
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["campaign_id", "reference_id"])
        .returning(table.c.reference_id)
    )
    for start in range(0, len(refs), _CHUNK):
        values = [
            {
                **valid[ref],
                "campaign_id": campaign_id,
                "state": "pending",
                "next_attempt_at": now,
                "attempts_total": 0,
                "attempts_on_day": 0,
                "retry_counts": {},
                "grade_label": "",
                "tags": [],
                "created_at": now,
                "updated_at": now,
            }
            for ref in refs[start : start + _CHUNK]
        ]
        # executemany through Core: one compiled statement, batched by SQLAlchemy's insertmanyvalues.
        created: list[str] = list(session.connection().execute(statement, values).scalars())
        report.created += len(created)
        report.existing += len(values) - len(created)
        report.created_reference_ids += created
    if report.created >= ANALYZE_AFTER_ROWS and session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE contact"))  # fresh statistics keep the scheduler's plans indexed
    return report
