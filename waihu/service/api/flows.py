"""/v1/flows: upload a flow YAML (validated; each new text is a new version), list and read versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from dialog.yaml_limits import MAX_YAML_BYTES
from waihu.service.api.deps import AnyRole, Operator, SessionDep
from waihu.service.api.errors import field_error, not_found
from waihu.service.api.limits import read_body, with_body
from waihu.service.api.responses import AUTH, errors, existing
from waihu.service.audit import record_change
from waihu.service.flows import FlowRejected, get_flow_version, store_flow
from waihu.service.models import FlowVersion
from waihu.service.views import iso

router = APIRouter(prefix="/v1/flows", tags=["flows"], responses=errors(*AUTH))
FlowId = Annotated[str, Path(min_length=1, max_length=64)]
MAX_FLOW_BYTES = MAX_YAML_BYTES
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            **{
                kind: {"schema": {"type": "string"}}
                for kind in ("application/yaml", "text/yaml", "text/plain")
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


async def _read_yaml(request: Request) -> tuple[str, str]:
    """The flow text and file name, from a YAML body or a multipart ``file`` (at most 1 MB)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data" and content_type not in _YAML_TYPES and content_type:
        raise field_error(["header", "content-type"], "send YAML (application/yaml) or multipart 'file'", 415)
    limit = MAX_FLOW_BYTES if content_type != "multipart/form-data" else MAX_FLOW_BYTES + 64 * 1024
    body = await read_body(request, limit)
    if content_type == "multipart/form-data":
        form = await with_body(request, body).form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise field_error(["body", "file"], "a YAML file field named 'file' is required")
        data, filename = await upload.read(), upload.filename or "flow.yaml"
    else:
        data, filename = body, "flow.yaml"
    if len(data) > MAX_FLOW_BYTES:
        raise field_error(["body"], f"flow larger than {MAX_FLOW_BYTES} bytes", 413)
    try:
        return data.decode("utf-8-sig"), filename.rsplit("/", 1)[-1]
    except UnicodeDecodeError as exc:
        raise field_error(["body"], "flow YAML must be UTF-8") from exc


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a flow YAML",
    openapi_extra=_UPLOAD_BODY,
    responses=errors(400, 409, 413, 415, 422)
    | existing("This exact text is a stored version already: returned."),
)
async def upload_flow(request: Request, key: Operator, response: Response) -> dict[str, Any]:
    """Validate with ``dialog.loader`` and store as the next version of its ``flow.id``.

    A bad flow answers 422 with ``problems`` as ``FILE:LINE:COL: message`` lines. Re-uploading the same text
    returns the existing version (200).
    """
    text, filename = await _read_yaml(request)
    factory = request.app.state.service.factory

    def work() -> tuple[dict[str, Any], bool]:
        with factory() as session:
            try:
                stored = store_flow(session, text, uploaded_by=key.id, filename=filename, tenant=key.tenant)
            except FlowRejected as exc:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    {"message": "the flow has errors", "problems": exc.problems},
                ) from exc
            if stored.created:
                row = stored.version
                record_change(
                    session,
                    key,
                    "flow.upload",
                    "flow",
                    f"{row.flow_id}@{row.version}",
                    tenant=key.tenant,
                    after=_view(row),
                )
            session.commit()
            return _view(stored.version) | {"warnings": stored.warnings}, stored.created

    view, created = await run_in_threadpool(work)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.get("", summary="List flows with their latest version")
def list_flows(session: SessionDep, key: AnyRole) -> dict[str, Any]:
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
    return {"items": [_view(row) for row in rows]}


@router.get("/{flow_id}/versions", summary="Versions of a flow", responses=errors(404, 422))
def list_versions(flow_id: FlowId, session: SessionDep, key: AnyRole) -> dict[str, Any]:
    """Every stored version, newest first."""
    rows = list(
        session.scalars(
            select(FlowVersion)
            .where(FlowVersion.tenant == key.tenant, FlowVersion.flow_id == flow_id)
            .order_by(FlowVersion.version.desc())
        )
    )
    if not rows:
        raise not_found(f"flow {flow_id!r}")
    return {"items": [_view(row) for row in rows]}


@router.get("/{flow_id}/versions/{version}", summary="One version with its YAML", responses=errors(404, 422))
def get_version(
    flow_id: FlowId, version: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, key: AnyRole
) -> dict[str, Any]:
    """The stored YAML text and its hash."""
    row = get_flow_version(session, flow_id, version, key.tenant)
    if row is None:
        raise not_found(f"flow {flow_id!r} version {version}")
    return _view(row, with_yaml=True)
