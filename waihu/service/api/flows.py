"""/v1/flows: upload a flow YAML or a bundle (the YAML and its recordings; validated; each new text or
recording set is a new version), list and read versions, fetch a version's recordings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import Response as RawResponse
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from dialog.flow_files import STORED_FILES
from dialog.loader import load_flow_text
from dialog.yaml_limits import MAX_YAML_BYTES
from waihu.service.api.deps import AnyRole, Operator, SessionDep
from waihu.service.api.errors import field_error, field_error_from, not_found
from waihu.service.api.limits import read_body, with_body
from waihu.service.api.responses import AUTH, errors, existing
from waihu.service.audit import record_change
from waihu.service.bundles import MAX_BUNDLE_BYTES, BundleError, is_zip, read_bundle
from waihu.service.flow_assets import recording_bytes, recordings_of, version_recordings
from waihu.service.flows import FlowRejected, get_flow_version, store_flow
from waihu.service.models import FlowVersion
from waihu.service.problems import Problem
from waihu.service.prompt_warmup import queue_warmup, warmup_view
from waihu.service.views import OpenModel, PublicModel, Timestamp, iso

router = APIRouter(prefix="/v1/flows", tags=["flows"], responses=errors(*AUTH))
FlowId = Annotated[str, Path(min_length=1, max_length=64)]
MAX_FLOW_BYTES = MAX_YAML_BYTES
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed")
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            **{
                kind: {"schema": {"type": "string"}}
                for kind in ("application/yaml", "text/yaml", "text/plain")
            },
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
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


class RecordingPublic(PublicModel):
    """A WAV recording of a bundle: its path in the zip, content hash, size and length."""

    name: str
    sha256: str
    size: int
    duration_ms: int


class WarmupPublic(OpenModel):
    """The synthesis of a version's fixed prompts after upload (clauses synthesised and already cached)."""

    state: str = Field(description="pending, running, done or failed.")
    synthesised: int
    cached: int
    error: str | None


class FlowVersionView(PublicModel):
    """A stored version of a flow (without its text)."""

    flow_id: str
    version: int
    declared_version: int
    name: str
    language: str
    sha256: str
    uploaded_by: str | None
    created_at: Timestamp | None


class FlowVersionsPublic(PublicModel):
    """Flows or versions of a flow (not paginated)."""

    items: list[FlowVersionView]


class FlowUploaded(FlowVersionView):
    """The version an upload stored (or found), its recordings, their warm-up and the flow's warnings."""

    recordings: list[RecordingPublic]
    warmup: WarmupPublic | None = Field(description="Null when the service warms nothing.")
    warnings: list[str]


class FlowVersionPublic(FlowVersionView):
    """A version with its YAML text, recordings and warm-up."""

    yaml: str
    recordings: list[RecordingPublic]
    warmup: WarmupPublic | None = Field(description="Null when the service warms nothing.")


def _recordings(session: Session, flow_version_id: int) -> list[RecordingPublic]:
    return [
        RecordingPublic(**asdict(recording)) for recording in version_recordings(session, flow_version_id)
    ]


def _warmup(session: Session, flow_version_id: int) -> WarmupPublic | None:
    found = warmup_view(session, flow_version_id)
    return WarmupPublic.model_validate(found) if found is not None else None


def _view(row: FlowVersion, *, with_yaml: bool = False) -> dict[str, Any]:
    view = {
        "flow_id": row.flow_id,
        "version": row.version,
        "declared_version": row.declared_version,
        "name": row.name,
        "language": row.language,
        "sha256": row.sha256,
        "uploaded_by": row.uploaded_by,
        "created_at": iso(row.created_at),
    }
    if with_yaml:
        view["yaml"] = row.yaml_text
    return view


async def _read_upload(request: Request) -> tuple[str, str, dict[str, bytes] | None]:
    """The flow text, its file name and its recordings (None: a plain YAML upload, no recordings).

    A YAML body or multipart ``file`` (at most 1 MB), or a bundle: a zip (``application/zip`` body, or a
    multipart ``file`` that is a zip) holding the YAML and its WAV recordings (at most 32 MB).
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    multipart = content_type == "multipart/form-data"
    if not multipart and content_type not in _YAML_TYPES + _ZIP_TYPES and content_type:
        raise field_error(["header", "content-type"], "flow_content_type", 415)
    limit = MAX_FLOW_BYTES if content_type in _YAML_TYPES or not content_type else MAX_BUNDLE_BYTES
    body = await read_body(request, limit + (64 * 1024 if multipart else 0))
    if multipart:
        form = await with_body(request, body).form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise field_error(["body", "file"], "flow_file_missing")
        data, filename = await upload.read(), upload.filename or "flow.yaml"
    else:
        data, filename = body, "flow.yaml"
    if content_type in _ZIP_TYPES or (multipart and is_zip(data)):
        try:
            bundle = await run_in_threadpool(read_bundle, data)
        except BundleError as exc:
            raise field_error_from(exc.loc, exc, "flow_bundle_rejected", exc.status) from exc
        return bundle.yaml_text, bundle.yaml_name, bundle.recordings
    if len(data) > MAX_FLOW_BYTES:
        raise field_error(["body"], "flow_too_large", 413, max_bytes=MAX_FLOW_BYTES)
    try:
        return data.decode("utf-8-sig"), filename.rsplit("/", 1)[-1], None
    except UnicodeDecodeError as exc:
        raise field_error(["body"], "flow_not_utf8") from exc


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a flow YAML or a bundle (YAML + WAV recordings, zip)",
    openapi_extra=_UPLOAD_BODY,
    response_model=FlowUploaded,
    responses=errors(400, 409, 413, 415, 422)
    | existing("This exact text is a stored version already: returned.", FlowUploaded),
)
async def upload_flow(
    request: Request,
    key: Operator,
    response: Response,
    recordings_from: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**31 - 1,
            description="Keep the recordings of this version of the flow (an edited YAML).",
        ),
    ] = None,
) -> FlowUploaded:
    """Validate with ``dialog.loader`` and store as the next version of its ``flow.id``.

    A bad flow answers 422 with ``problems`` as ``FILE:LINE:COL: message`` lines (and ``problem_items``: the
    same with ``code`` and ``params``, see ``dialog/problem_codes.py``). Re-uploading the same text
    (and recordings) returns the existing version (200). A bundle's ``audio:`` references name WAV files in
    the zip; a refused member (path, size, not a WAV) answers 4xx with ``loc: [body, bundle, member]``.
    ``recordings_from=N`` uploads a YAML with the recordings of version N of the same flow (the console
    editor saves an edited bundle flow this way).
    """
    text, filename, recordings = await _read_upload(request)
    factory = request.app.state.service.factory
    warmer = getattr(request.app.state, "prompt_warmer", None)

    def work() -> tuple[FlowUploaded, bool]:
        with factory() as session:
            carried = recordings
            if recordings is None and recordings_from is not None:
                carried = _carried(session, text, recordings_from, key.tenant)
            try:
                stored = store_flow(
                    session,
                    text,
                    uploaded_by=key.id,
                    filename=filename,
                    tenant=key.tenant,
                    recordings=carried,
                )
            except FlowRejected as exc:
                rejected = Problem(
                    status.HTTP_422_UNPROCESSABLE_CONTENT, "flow_has_errors", problems=exc.problems
                )
                # Beside the English lines: each problem's code and params, for the console to word.
                detail: Any = rejected.detail  # {message, problems}
                detail["problem_items"] = exc.items
                raise rejected from exc
            if stored.created and warmer is not None:
                queue_warmup(session, stored.version)  # synthesised by the service after the request
            if stored.created:
                row = stored.version
                record_change(
                    session,
                    key,
                    "flow.upload",
                    "flow",
                    f"{row.flow_id}@{row.version}",
                    tenant=key.tenant,
                    after=_view(row) | {"recordings": [r.name for r in version_recordings(session, row.id)]},
                )
            session.commit()
            view = FlowUploaded(
                **_view(stored.version),
                recordings=_recordings(session, stored.version.id),
                warmup=_warmup(session, stored.version.id),
                warnings=stored.warnings,
            )
            return view, stored.created

    view, created = await run_in_threadpool(work)
    if created and warmer is not None:
        warmer.wake()
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


def _carried(session: Session, text: str, version: int, tenant: str) -> dict[str, bytes] | None:
    """The recordings of ``version`` of the flow ``text`` declares (None: the text names no valid flow)."""
    loaded = load_flow_text(text, files=STORED_FILES)
    if loaded.flow is None:
        return None  # store_flow reports the flow's own errors
    row = get_flow_version(session, loaded.flow.flow.id, version, tenant)
    if row is None:
        raise field_error(
            ["query", "recordings_from"],
            "flow_has_no_version",
            404,
            flow=loaded.flow.flow.id,
            version=version,
        )
    return recordings_of(session, row.id)


@router.get("", summary="List flows with their latest version", response_model=FlowVersionsPublic)
def list_flows(session: SessionDep, key: AnyRole) -> FlowVersionsPublic:
    """One entry per flow id of the tenant: the latest version."""
    latest = (
        select(FlowVersion.flow_id, func.max(FlowVersion.version).label("version"))
        .where(FlowVersion.tenant == key.tenant)
        .group_by(FlowVersion.flow_id)
        .subquery()
    )
    rows = session.scalars(
        select(FlowVersion)
        .join(latest, (FlowVersion.flow_id == latest.c.flow_id) & (FlowVersion.version == latest.c.version))
        .where(FlowVersion.tenant == key.tenant)
        .order_by(FlowVersion.flow_id)
    )
    return FlowVersionsPublic(items=[FlowVersionView(**_view(row)) for row in rows])


@router.get(
    "/{flow_id}/versions",
    summary="Versions of a flow",
    response_model=FlowVersionsPublic,
    responses=errors(404, 422),
)
def list_versions(flow_id: FlowId, session: SessionDep, key: AnyRole) -> FlowVersionsPublic:
    """Every stored version, newest first."""
    rows = list(
        session.scalars(
            select(FlowVersion)
            .where(FlowVersion.tenant == key.tenant, FlowVersion.flow_id == flow_id)
            .order_by(FlowVersion.version.desc())
        )
    )
    if not rows:
        raise not_found("flow_not_found", flow=flow_id)
    return FlowVersionsPublic(items=[FlowVersionView(**_view(row)) for row in rows])


@router.get(
    "/{flow_id}/versions/{version}",
    summary="One version with its YAML",
    response_model=FlowVersionPublic,
    responses=errors(404, 422),
)
def get_version(
    flow_id: FlowId, version: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, key: AnyRole
) -> FlowVersionPublic:
    """The stored YAML text, its hash, its recordings (name, sha256, size, duration_ms) and the warm-up of
    its fixed prompts at upload (``state``: pending, running, done, failed; clauses ``synthesised`` and
    already ``cached``; null when the service warms nothing)."""
    row = get_flow_version(session, flow_id, version, key.tenant)
    if row is None:
        raise not_found("flow_version_not_found", flow=flow_id, version=version)
    return FlowVersionPublic(
        **_view(row, with_yaml=True), recordings=_recordings(session, row.id), warmup=_warmup(session, row.id)
    )


@router.get(
    "/{flow_id}/versions/{version}/recordings/{name:path}",
    summary="One recording of a version (WAV)",
    response_class=RawResponse,
    responses=errors(404, 422) | {200: {"content": {"audio/wav": {}}, "description": "The WAV file."}},
)
def get_recording(
    flow_id: FlowId,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    name: Annotated[str, Path(min_length=1, max_length=200)],
    session: SessionDep,
    key: AnyRole,
) -> RawResponse:
    """The WAV bytes as uploaded in the bundle (``name`` is its path there, e.g. ``prompts/hi.wav``)."""
    row = get_flow_version(session, flow_id, version, key.tenant)
    data = recording_bytes(session, row.id, name) if row is not None else None
    if data is None:
        raise not_found("flow_recording_not_found", name=name, flow=flow_id, version=version)
    return RawResponse(data, media_type="audio/wav", headers={"cache-control": "private, max-age=3600"})
