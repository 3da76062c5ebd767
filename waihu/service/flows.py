"""Flow versions: upload (validated with :mod:`dialog.loader`), look-up and the YAML a worker runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialog.flow_files import NO_FILES, FileAccess
from dialog.loader import load_flow_text
from dialog.problems import FlowProblem
from waihu.service.db import begin_write
from waihu.service.flow_assets import bundle_digest, store_recordings, used_recordings
from waihu.service.models import DEFAULT_TENANT, FlowVersion, utcnow


class FlowRejected(Exception):
    """The uploaded flow has errors; ``problems`` are ``FILE:LINE:COL: message`` lines.

    ``items`` are the same problems with their registry code and params (:mod:`dialog.problem_codes`),
    for clients that word them in their own language (the console).
    """

    def __init__(self, problems: list[str], items: list[dict[str, object]] | None = None) -> None:
        self.problems = problems
        self.items = items or []
        super().__init__("\n".join(problems))


def problem_item(problem: FlowProblem) -> dict[str, object]:
    """One flow problem as JSON: where, severity, the English ``message``, ``code`` and ``params``."""
    return {
        "file": problem.file,
        "line": problem.line,
        "col": problem.col,
        "severity": problem.severity,
        "message": problem.message,
        "code": problem.code,
        "params": problem.params,
    }


@dataclass(frozen=True)
class StoredFlow:
    """The stored version, whether this upload created it, and the validator's warnings."""

    version: FlowVersion
    created: bool
    warnings: list[str]


def store_flow(
    session: Session,
    text: str,
    *,
    uploaded_by: str | None = None,
    filename: str = "flow.yaml",
    tenant: str = DEFAULT_TENANT,
    recordings: Mapping[str, bytes] | None = None,
) -> StoredFlow:
    """Validate ``text`` and store it as the next version of its flow id in ``tenant`` (caller commits).

    Flow ids are per tenant: two tenants may both have a flow ``mini``, numbered independently.
    Uploading the exact same text again returns the existing version (``created`` False). Raises
    :class:`FlowRejected` listing every error. The flow came over the network, so it may reference no
    files (``knowledge_base: {file: ...}``, ``audio:``): those are errors naming the field — unless it
    came as a bundle with ``recordings`` (canonical name → WAV bytes, see :mod:`waihu.service.bundles`):
    then every ``audio:`` must name one of them, and those it names are stored with the version.
    """
    files = NO_FILES if recordings is None else FileAccess.for_bundle(recordings)
    loaded = load_flow_text(text, filename, files=files)
    if loaded.flow is None or loaded.errors:
        rejected = loaded.errors or loaded.problems
        raise FlowRejected([p.format() for p in rejected], [problem_item(p) for p in rejected])
    flow = loaded.flow
    warnings = [problem.format() for problem in loaded.problems if problem.severity != "error"]
    used = used_recordings(flow, recordings or {})
    warnings += [f"{filename}: {name}: in the bundle but no audio: names it (not stored)"
                 for name in sorted(set(recordings or {}) - set(used))]  # fmt: skip
    digest = bundle_digest(text, used)
    if not session.in_transaction():
        begin_write(session)  # validated outside any lock; now write without a lock upgrade
    mine = (FlowVersion.tenant == tenant, FlowVersion.flow_id == flow.flow.id)
    same = session.scalars(select(FlowVersion).where(*mine, FlowVersion.sha256 == digest)).first()
    if same is not None:
        return StoredFlow(same, False, warnings)
    for _ in range(3):  # two uploads racing for the same next number: the loser takes the one after
        latest = session.scalar(select(func.max(FlowVersion.version)).where(*mine))
        row = FlowVersion(
            tenant=tenant,
            flow_id=flow.flow.id,
            version=(latest or 0) + 1,
            declared_version=flow.flow.version,
            name=flow.flow.name,
            language=flow.flow.language,
            yaml_text=text,
            sha256=digest,
            uploaded_by=uploaded_by,
            created_at=utcnow(),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        store_recordings(session, row, used)
        return StoredFlow(row, True, warnings)
    raise RuntimeError("could not allocate a flow version number")


def get_flow_version(
    session: Session, flow_id: str, version: int, tenant: str = DEFAULT_TENANT
) -> FlowVersion | None:
    """``tenant``'s stored flow ``flow_id`` at ``version``."""
    return session.scalars(
        select(FlowVersion).where(
            FlowVersion.tenant == tenant, FlowVersion.flow_id == flow_id, FlowVersion.version == version
        )
    ).first()


def flow_text(session: Session, flow_version_id: int) -> str:
    """The YAML a worker loads for a claim (``Claim.flow_version_id``) with ``dialog.loader``."""
    row = session.get(FlowVersion, flow_version_id)
    if row is None:
        raise LookupError(f"flow version {flow_version_id} not found")
    return row.yaml_text
