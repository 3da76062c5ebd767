"""/v1/campaigns/{id}/contacts: import (JSON or CSV, ≤ 100,000 rows, idempotent), list, get, re-grade."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from waihu.service.api.deps import SessionDep, SettingsDep, Strategy
from waihu.service.api.errors import conflict, field_error, field_error_from, not_found
from waihu.service.api.limits import JsonDepthError, loads_json, read_body, with_body
from waihu.service.api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.api.schemas import inline_schema
from waihu.service.api.scope import campaign_of
from waihu.service.audit import record_change
from waihu.service.db import begin_write
from waihu.service.imports import (
    ContactCreate,
    ImportFormatError,
    RawRow,
    insert_contacts,
    rows_from_csv,
    rows_from_json,
    validate_rows,
)
from waihu.service.lifecycle import change_campaign_state
from waihu.service.models import ApiKey, Attempt, Campaign, Contact, utcnow
from waihu.service.outcomes import ContactState
from waihu.service.phones import PhoneError, region_for_country_code
from waihu.service.views import AttemptView, ContactView, PublicModel, masked
from waihu.service.webhooks import enqueue_event

router = APIRouter(
    prefix="/v1/campaigns/{campaign_id}/contacts", tags=["contacts"], responses=errors(*AUTH, 404, 422)
)
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ReferenceId = Annotated[str, Path(min_length=1, max_length=128)]
MAX_ERRORS_SHOWN = 10_000
_IMPORT_TYPES = ("multipart/form-data", "text/csv", "application/csv", "text/plain", "application/json", "")


class ContactsCreate(BaseModel):
    """JSON body of an import (a bare list of contacts is accepted too)."""

    contacts: list[ContactCreate] = Field(max_length=100_000)


class ImportRowError(PublicModel):
    """A row not imported: its number (1-based), the field at fault and why; ``line``: its CSV line."""

    row: int
    field: str
    message: str
    reference_id: str | None
    line: int = Field(default=0, description="The CSV file line (CSV imports only).")
    code: str | None = Field(
        default=None, description="Stable code of `message` (waihu/service/problems.py), where it has one."
    )
    params: dict[str, Any] | None = Field(default=None, description="The values in the sentence of `code`.")


class MergedRow(PublicModel):
    """A row not added: its phone belongs to the campaign's contact ``merged_into`` already."""

    row: int
    reference_id: str
    merged_into: str


class ContactsImported(PublicModel):
    """How an import went: rows received, contacts created, already there, rejected (with reasons)."""

    received: int
    created: int
    existing: int
    rejected: int
    errors: list[ImportRowError]
    errors_truncated: bool
    merged: list[MergedRow] = Field(description="Rows whose phone another contact of the campaign has.")


class ContactsPublic(Page[ContactView]):
    """A page of contacts in import order."""


class ContactPublic(ContactView):
    """A contact with every attempt's result (transcript and trace included)."""

    attempts_detail: list[AttemptView]


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                # Inlined: the body is read by hand, so FastAPI would not register ContactCreate's schema.
                "schema": {
                    "anyOf": [
                        inline_schema(ContactsCreate),
                        {"type": "array", "items": inline_schema(ContactCreate), "maxItems": 100_000},
                    ]
                }
            },
            "text/csv": {
                "schema": {"type": "string", "description": "Header: reference_id,phone,name,<vars…>"}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class GradeUpdate(BaseModel):
    """A manual re-grade by a person."""

    model_config = ConfigDict(extra="forbid")

    grade: str = Field(pattern=r"^[A-Z][0-9A-Za-z+-]{0,7}$", examples=["A", "B"])
    label: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)


async def _read_rows(request: Request, max_rows: int, max_bytes: int) -> list[RawRow]:
    """Rows of the body (JSON, CSV, or a multipart file), read within ``max_bytes`` as a stream."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _IMPORT_TYPES:
        raise field_error(["header", "content-type"], "contacts_content_type", 415)
    body = await read_body(request, max_bytes)
    try:
        if content_type == "multipart/form-data":
            form = await with_body(request, body).form(max_files=1, max_fields=10)
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise field_error(["body", "file"], "contacts_file_missing")
            data = await upload.read()
            name = (upload.filename or "").lower()
            if name.endswith(".json") or (upload.content_type or "").endswith("json"):
                return rows_from_json(loads_json(data), max_rows)
            return rows_from_csv(data, max_rows)
        if content_type in ("text/csv", "application/csv", "text/plain"):
            return rows_from_csv(body, max_rows)
        return rows_from_json(loads_json(body), max_rows)
    except ImportFormatError as exc:
        raise field_error_from(["body"], exc, "contacts_rejected") from exc
    except JsonDepthError as exc:
        raise field_error(["body"], "json_too_deep", max_depth=exc.max_depth) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise field_error(["body"], "body_json_invalid", reason=str(exc)) from exc


@router.post(
    "",
    summary="Import contacts (JSON or CSV)",
    openapi_extra=_IMPORT_BODY,
    response_model=ContactsImported,
    response_model_exclude_unset=True,
    responses=errors(*JSON_BODY, 409, 415),
)
async def import_contacts_endpoint(
    campaign_id: CampaignId,
    request: Request,
    state: SettingsDep,
    key: Strategy,
    country_code: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,3}$")] = None,
) -> ContactsImported:
    """Add contacts; rows with errors are reported by row number and the valid ones are kept.

    Idempotent by ``reference_id``: one already in the campaign is left as it is (counted in
    ``existing``). A row whose phone the campaign already has under another ``reference_id`` (or an
    earlier row has) is not added: it is listed in ``merged`` with the contact it belongs to, and in
    ``errors`` (field ``phone``). Phone numbers are normalised to E.164; numbers without ``+`` are read in the
    region of ``country_code`` (default: the server's region, CN).
    """
    settings = state.settings
    try:
        region = region_for_country_code(country_code) if country_code else settings.default_region
    except PhoneError as exc:
        raise field_error_from(["query", "country_code"], exc, "phone_rejected") from exc
    rows = await _read_rows(request, settings.max_import_rows, settings.max_body_bytes)

    def check_campaign(session: Session) -> Campaign:
        campaign = campaign_of(session, key, campaign_id)
        if campaign.state in ("cancelled", "failed"):
            raise conflict("campaign_takes_no_contacts", campaign=campaign_id, state=campaign.state)
        return campaign

    def work() -> ContactsImported:
        with state.factory() as session:
            check_campaign(session)  # fail fast, before validating every row
        checked = validate_rows(rows, region=region)
        with state.factory() as session:
            begin_write(session)  # the write lock up front: no failed lock upgrade under other writers
            campaign = check_campaign(session)
            report = insert_contacts(session, campaign.id, checked)
            if report.created and campaign.state == "succeeded":
                change_campaign_state(session, campaign, "executing", utcnow(), "new contacts imported")
            summary = {
                "received": report.received,
                "created": report.created,
                "existing": report.existing,
                "rejected": len(report.errors),
                "region": region,
            }
            record_change(
                session,
                key,
                "contacts.import",
                "campaign",
                campaign.id,
                tenant=campaign.tenant,
                after=summary,
            )
            session.commit()
        errors = [
            # ``line`` only where there is one (CSV), as the answer always had it
            ImportRowError(**{k: v for k, v in vars(error).items() if v is not None or k == "reference_id"})
            for error in report.errors[:MAX_ERRORS_SHOWN]
        ]
        return ContactsImported(
            received=report.received,
            created=report.created,
            existing=report.existing,
            rejected=len(report.errors),
            errors=errors,
            errors_truncated=len(report.errors) > MAX_ERRORS_SHOWN,
            # one active contact per phone per campaign: which rows went to which existing contact
            merged=[
                MergedRow(row=m.row, reference_id=m.reference_id, merged_into=m.into)
                for m in report.merged[:MAX_ERRORS_SHOWN]
            ],
        )

    return await run_in_threadpool(work)


@router.get("", summary="List contacts", response_model=ContactsPublic)
def list_contacts(
    campaign_id: CampaignId,
    session: SessionDep,
    key: Strategy,
    state: Annotated[ContactState | None, Query()] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> ContactsPublic:
    """Contacts of a campaign in import order, optionally by state; cursor-paginated."""
    campaign_of(session, key, campaign_id)
    query = select(Contact).where(Contact.campaign_id == campaign_id).order_by(Contact.id).limit(limit + 1)
    if state:
        query = query.where(Contact.state == state)
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        query = query.where(Contact.id > last_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [masked(ContactView.from_row(row), key.role) for row in rows]
    return ContactsPublic(items=items, next_cursor=encode_cursor(rows[-1].id) if more else None)


def _contact(session: SessionDep, key: ApiKey, campaign_id: int, reference_id: str) -> Contact:
    campaign_of(session, key, campaign_id)
    contact = session.scalars(
        select(Contact).where(Contact.campaign_id == campaign_id, Contact.reference_id == reference_id)
    ).first()
    if contact is None:
        raise not_found("contact_not_found", contact=reference_id, campaign=campaign_id)
    return contact


@router.get("/{reference_id}", summary="A contact with every attempt's result", response_model=ContactPublic)
def get_contact(
    campaign_id: CampaignId, reference_id: ReferenceId, session: SessionDep, key: Strategy
) -> ContactPublic:
    """The contact's state and final result, and its attempts (with transcript and trace)."""
    contact = _contact(session, key, campaign_id, reference_id)
    attempts = session.scalars(
        select(Attempt).where(Attempt.contact_id == contact.id).order_by(Attempt.number)
    )
    detail = [masked(AttemptView.from_row(a, contact), key.role) for a in attempts]
    view = masked(ContactView.from_row(contact), key.role)
    return ContactPublic(**view.model_dump(), attempts_detail=detail)


@router.post(
    "/{reference_id}/grade",
    summary="Re-grade a contact by hand",
    response_model=ContactView,
    responses=errors(*JSON_BODY),
)
def regrade_contact(
    campaign_id: CampaignId, reference_id: ReferenceId, body: GradeUpdate, session: SessionDep, key: Strategy
) -> ContactView:
    """Set the contact's grade; emits ``contact.regraded`` with the previous grade."""
    campaign = campaign_of(session, key, campaign_id)
    contact = _contact(session, key, campaign_id, reference_id)
    previous = {"grade": contact.final_grade, "label": contact.grade_label}
    now = utcnow()
    contact.final_grade = body.grade
    contact.grade_label = body.label
    contact.regraded_at = now
    contact.updated_at = now
    session.flush()
    enqueue_event(
        session,
        campaign,
        "contact.regraded",
        ContactView.from_row(contact).model_dump() | {"previous": previous, "note": body.note, "by": key.id},
        now,
    )
    record_change(
        session,
        key,
        "contact.regrade",
        "contact",
        f"{campaign.id}/{contact.reference_id}",
        tenant=campaign.tenant,
        before=previous,
        after={"grade": body.grade, "label": body.label, "note": body.note},
        at=now,
    )
    session.commit()
    return masked(ContactView.from_row(contact), key.role)
