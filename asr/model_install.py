"""Install a speech model from a zip/tar(.gz) archive (local path or URL) into the models directory.

The archive's sha256 is checked before anything is unpacked; members with absolute paths, ``..``
components, links or device files are rejected; unpacking happens in a temporary directory that
is renamed into place, so ``models_dir`` never holds a half-installed model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.parse
import zipfile
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


class ModelInstallError(Exception):
    """The archive is unsafe, corrupt or does not match its checksum."""


def _fetch(src: str, dest: Path) -> None:
    """Copy a local path or download an http(s)/file URL to ``dest``."""
    scheme = urllib.parse.urlparse(src).scheme
    if scheme in ("http", "https", "file"):
        from urllib.request import urlopen

        log.info("downloading %s", src)
        with urlopen(src, timeout=60) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out, _CHUNK)
    else:
        shutil.copyfile(src, dest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _safe_relpath(name: str) -> PurePosixPath:
    """Validate an archive member name; return it as a relative path."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ModelInstallError(f"unsafe path in archive: {name!r}")
    return path


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            rel = _safe_relpath(info.filename)
            mode = info.external_attr >> 16
            if mode and stat.S_ISLNK(mode):
                raise ModelInstallError(f"link in archive: {info.filename!r}")
            target = dest / rel
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:*") as tf:
        members = tf.getmembers()
        for member in members:
            _safe_relpath(member.name)
            if not (member.isfile() or member.isdir()):
                raise ModelInstallError(f"unsupported member type in archive: {member.name!r}")
        for member in members:
            target = dest / _safe_relpath(member.name)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(member)
            if src is None:
                raise ModelInstallError(f"cannot read {member.name!r}")
            with src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)


def install_model(src: str, sha256: str, models_dir: Path, name: str | None = None) -> Path:
    """Install the model archive ``src`` (path or URL) into ``models_dir``; return the model directory.

    The directory is named ``name``, else after the archive's single top-level folder, else after
    the archive file. If that directory already exists and was installed from the same checksum it
    is returned as is; otherwise it is replaced atomically. Raises :class:`ModelInstallError` on a
    checksum mismatch, an unsafe member or an unknown archive format.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    expected = sha256.strip().lower()
    work = Path(tempfile.mkdtemp(prefix=".install-", dir=models_dir))
    try:
        archive = work / "archive"
        _fetch(src, archive)
        actual = _sha256(archive)
        if actual != expected:
            raise ModelInstallError(f"sha256 mismatch for {src}: expected {expected}, got {actual}")
        unpacked = work / "unpacked"
        unpacked.mkdir()
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, unpacked)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, unpacked)
        else:
            raise ModelInstallError(f"{src} is neither a zip nor a tar archive")
        entries = list(unpacked.iterdir())
        if len(entries) == 1 and entries[0].is_dir():
            root, default_name = entries[0], entries[0].name
        else:
            root = unpacked
            base = PurePosixPath(urllib.parse.urlparse(src).path).name or "model"
            default_name = base.split(".")[0] or "model"
        target_name = name or default_name
        _safe_relpath(target_name)
        if len(PurePosixPath(target_name).parts) != 1:
            raise ModelInstallError(f"model name must be a single path component: {target_name!r}")
        target = models_dir / target_name
        marker = ".source-sha256"
        if (target / marker).is_file() and (target / marker).read_text().strip() == expected:
            log.info("model %s already installed", target)
            return target
        (root / marker).write_text(expected + "\n")
        if target.exists():
            old = work / "previous"
            os.rename(target, old)
        os.rename(root, target)
        log.info("installed model %s from %s", target, src)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
