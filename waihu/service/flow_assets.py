"""A flow version's recordings: stored in the database with the version, materialised on each worker.

The bytes live in ``flow_asset`` once per content (sha256), so every worker sharing the database can
fetch them and a re-upload with a changed YAML stores no audio twice. A worker writes a version's
recordings into a local content-addressed directory (named after the hash of its name → content
manifest) and gives that as the flow's directory: ``audio: prompts/hello.wav`` then plays from disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialog.flow_files import FileReferenceError, audio_references, bundle_name
from dialog.schema import Flow
from tts.audio import read_wav
from waihu.service.models import FlowAsset, FlowVersion, FlowVersionAsset, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recording:
    """One recording of a version: its name in the bundle, content hash, size and length."""

    name: str
    sha256: str
    size: int
    duration_ms: int


def used_recordings(flow: Flow, recordings: Mapping[str, bytes]) -> dict[str, bytes]:
    """The recordings the flow's ``audio:`` references name (the loader checked they are all there)."""
    used: dict[str, bytes] = {}
    for _path, reference in audio_references(flow):
        name = bundle_name(reference)
        used[name] = recordings[name]
    return dict(sorted(used.items()))


def bundle_digest(text: str, recordings: Mapping[str, bytes]) -> str:
    """A version's identity: the YAML's sha256, or of the YAML and its recordings' names and hashes."""
    if not recordings:
        return hashlib.sha256(text.encode()).hexdigest()
    manifest = json.dumps(
        {name: hashlib.sha256(data).hexdigest() for name, data in sorted(recordings.items())}, sort_keys=True
    )
    return hashlib.sha256(f"{text}\n\0{manifest}".encode()).hexdigest()


def store_recordings(session: Session, version: FlowVersion, recordings: Mapping[str, bytes]) -> None:
    """Attach ``recordings`` to the (flushed) ``version``; bytes already stored are shared, not copied."""
    for name, data in recordings.items():
        digest = hashlib.sha256(data).hexdigest()
        if session.get(FlowAsset, digest) is None:
            try:
                with session.begin_nested():
                    session.add(FlowAsset(sha256=digest, size=len(data), data=data, created_at=utcnow()))
            except IntegrityError:  # another upload stored the same bytes meanwhile: share them
                pass
        audio = read_wav(io.BytesIO(data))
        duration_ms = round(len(audio.pcm) / 2 / audio.sample_rate * 1000)
        session.add(
            FlowVersionAsset(flow_version_id=version.id, name=name, sha256=digest, duration_ms=duration_ms)
        )
    session.flush()


def version_recordings(session: Session, flow_version_id: int) -> list[Recording]:
    """The recordings of a version, by name."""
    rows = session.execute(
        select(FlowVersionAsset.name, FlowVersionAsset.sha256, FlowAsset.size, FlowVersionAsset.duration_ms)
        .join(FlowAsset, FlowAsset.sha256 == FlowVersionAsset.sha256)
        .where(FlowVersionAsset.flow_version_id == flow_version_id)
        .order_by(FlowVersionAsset.name)
    )
    return [Recording(name, sha, size, duration) for name, sha, size, duration in rows]


def recording_bytes(session: Session, flow_version_id: int, name: str) -> bytes | None:
    """The WAV bytes of one recording of a version (None: the version has no such recording)."""
    return session.scalar(
        select(FlowAsset.data)
        .join(FlowVersionAsset, FlowAsset.sha256 == FlowVersionAsset.sha256)
        .where(FlowVersionAsset.flow_version_id == flow_version_id, FlowVersionAsset.name == name)
    )


def recordings_of(session: Session, flow_version_id: int) -> dict[str, bytes]:
    """Every recording of a version, name → WAV bytes (to carry them over to an edited version)."""
    rows = session.execute(
        select(FlowVersionAsset.name, FlowAsset.data)
        .join(FlowAsset, FlowAsset.sha256 == FlowVersionAsset.sha256)
        .where(FlowVersionAsset.flow_version_id == flow_version_id)
    )
    return {name: data for name, data in rows}


def materialise(session: Session, flow_version_id: int, root: Path) -> Path | None:
    """The version's recordings as files in a local directory under ``root`` (None: it has none).

    The directory is named after the hash of the version's name → content manifest, so versions with
    the same recordings share it, and it is renamed into place only once complete: workers on one
    host may race for it safely. Each file's content is checked against its hash before use.
    """
    recordings = version_recordings(session, flow_version_id)
    if not recordings:
        return None
    manifest = json.dumps([(r.name, r.sha256) for r in recordings])
    key = hashlib.sha256(manifest.encode()).hexdigest()
    target = root / key[:2] / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        for recording in recordings:
            data = session.get(FlowAsset, recording.sha256)
            if data is None or hashlib.sha256(data.data).hexdigest() != recording.sha256:
                raise ValueError(f"recording {recording.name!r} of flow version {flow_version_id} is damaged")
            if bundle_name(recording.name) != recording.name:  # stored names were checked at upload
                raise FileReferenceError(f"stored recording name {recording.name!r} is not canonical")
            path = staging / recording.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.data)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not another worker's copy arriving first: a real failure
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("flow version %d: %d recordings in %s", flow_version_id, len(recordings), target)
    return target
