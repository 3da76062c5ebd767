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
from waihu.service.api.errors import conflict, field_error, not_found
from waihu.service.api.limits import JsonDepthError, loads_json, read_body, with_body
from waihu.service.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, page
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.api.schemas import inline_schema
from waihu.service.api.scope import campaign_of
from waihu.service.audit import record_change
from waihu.service.db import begin_write
from waihu.service.imports import (
    ImportFormatError,
    RawRow,
    insert_contacts,
    rows_from_csv,
    rows_from_json,
    validate_rows,
)
from waihu.service.lifecycle import change_campaign_state
from waihu.service.masking import for_role
from waihu.service.models import ApiKey, Attempt, Campaign, Contact, utcnow
from waihu.service.outcomes import ContactState
from waihu.service.phones import PhoneError, region_for_country_code
from waihu.service.views import attempt_view, contact_view
from waihu.service.webhooks import enqueue_event

router = APIRouter(
    prefix="/v1/campaigns/{campaign_id}/contacts", tags=["contacts"], responses=errors(*AUTH, 404, 422)
)
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ReferenceId = Annotated[str, Path(min_length=1, max_length=128)]
MAX_ERRORS_SHOWN = 10_000
_IMPORT_TYPES = ("multipart/form-data", "text/csv", "application/csv", "text/plain", "application/json", "")


class ContactIn(BaseModel):
    """One contact to import. Aliases accepted: referenceId, phoneNumber, extras/properties.

    Other fields are rejected per row (put custom values under ``variables``); the rest still import.
    """

    reference_id: str = Field(min_length=1, max_length=128)
    phone: str = Field(min_length=1, max_length=40, examples=["+8613800001234", "13800001234"])
    name: str = Field(default="", max_length=200)
    variables: dict[str, str | int | float | bool] = Field(default_factory=dict)


class ContactsImport(BaseModel):
    """JSON body of an import (a bare list of contacts is accepted too)."""

    contacts: list[ContactIn] = Field(max_length=100_000)


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                # Inlined: the body is read by hand, so FastAPI would not register ContactIn's schema.
                "schema": {
                    "anyOf": [
                        inline_schema(ContactsImport),
                        {"type": "array", "items": inline_schema(ContactIn), "maxItems": 100_000},
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


class GradeIn(BaseModel):
    """A manual re-grade by a person."""

    model_config = ConfigDict(extra="forbid")

    grade: str = Field(pattern=r"^[A-Z][0-9A-Za-z+-]{0,7}$", examples=["A", "B"])
    label: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)


async def _read_rows(request: Request, max_rows: int, max_bytes: int) -> list[RawRow]:
    """Rows of the body (JSON, CSV, or a multipart file), read within ``max_bytes`` as a stream."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _IMPORT_TYPES:
        raise field_error(
            ["header", "content-type"], "use application/json, text/csv or multipart/form-data", 415
        )
    body = await read_body(request, max_bytes)
    try:
        if content_type == "multipart/form-data":
            form = await with_body(request, body).form(max_files=1, max_fields=10)
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise field_error(["body", "file"], "a CSV file field named 'file' is required")
            data = await upload.read()
            name = (upload.filename or "").lower()
            if name.endswith(".json") or (upload.content_type or "").endswith("json"):
                return rows_from_json(loads_json(data), max_rows)
            return rows_from_csv(data, max_rows)
        if content_type in ("text/csv", "application/csv", "text/plain"):
            return rows_from_csv(body, max_rows)
        return rows_from_json(loads_json(body), max_rows)
    except ImportFormatError as exc:
        raise field_error(["body"], str(exc)) from exc
    except JsonDepthError as exc:
        raise field_error(["body"], str(exc)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise field_error(["body"], f"invalid JSON: {exc}") from exc


@router.post(
    "",
    summary="Import contacts (JSON or CSV)",
    openapi_extra=_IMPORT_BODY,
    responses=errors(*JSON_BODY, 409, 415),
)
async def import_contacts_endpoint(
    campaign_id: CampaignId,
    request: Request,
    state: SettingsDep,
    key: Strategy,
    country_code: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,3}$")] = None,
) -> dict[str, Any]:
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
        raise field_error(["query", "country_code"], str(exc)) from exc
    rows = await _read_rows(request, settings.max_import_rows, settings.max_body_bytes)

    def check_campaign(session: Session) -> Campaign:
        campaign = campaign_of(session, key, campaign_id)
        if campaign.state in ("cancelled", "failed"):
            raise conflict(f"campaign {campaign_id} is {campaign.state}: no more contacts")
        return campaign

    def work() -> dict[str, Any]:
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
            {k: v for k, v in vars(error).items() if v is not None or k == "reference_id"}
            for error in report.errors[:MAX_ERRORS_SHOWN]
        ]
        return {
            "received": report.received,
            "created": report.created,
            "existing": report.existing,
            "rejected": len(report.errors),
            "errors": errors,
            "errors_truncated": len(report.errors) > MAX_ERRORS_SHOWN,
            # one active contact per phone per campaign: which rows went to which existing contact
            "merged": [
                {"row": m.row, "reference_id": m.reference_id, "merged_into": m.into}
                for m in report.merged[:MAX_ERRORS_SHOWN]
            ],
        }

    return await run_in_threadpool(work)


@router.get("", summary="List contacts")
def list_contacts(
    campaign_id: CampaignId,
    session: SessionDep,
    key: Strategy,
    state: Annotated[ContactState | None, Query()] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
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
    items = [for_role(contact_view(row), key.role) for row in rows]
    return page(items, encode_cursor(rows[-1].id) if more else None)


def _contact(session: SessionDep, key: ApiKey, campaign_id: int, reference_id: str) -> Contact:
    campaign_of(session, key, campaign_id)
    contact = session.scalars(
        select(Contact).where(Contact.campaign_id == campaign_id, Contact.reference_id == reference_id)
    ).first()
    if contact is None:
        raise not_found(f"contact {reference_id!r} in campaign {campaign_id}")
    return contact


@router.get("/{reference_id}", summary="A contact with every attempt's result")
def get_contact(
    campaign_id: CampaignId, reference_id: ReferenceId, session: SessionDep, key: Strategy
) -> dict[str, Any]:
    """The contact's state and final result, and its attempts (with transcript and trace)."""
    contact = _contact(session, key, campaign_id, reference_id)
    attempts = session.scalars(
        select(Attempt).where(Attempt.contact_id == contact.id).order_by(Attempt.number)
    )
    detail = [for_role(attempt_view(a, contact), key.role) for a in attempts]
    return for_role(contact_view(contact), key.role) | {"attempts_detail": detail}


@router.post("/{reference_id}/grade", summary="Re-grade a contact by hand", responses=errors(*JSON_BODY))
def regrade_contact(
    campaign_id: CampaignId, reference_id: ReferenceId, body: GradeIn, session: SessionDep, key: Strategy
) -> dict[str, Any]:
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
        contact_view(contact) | {"previous": previous, "note": body.note, "by": key.id},
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
    return for_role(contact_view(contact), key.role)
