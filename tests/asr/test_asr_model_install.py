"""install_model: checksum, zip/tar(.gz), atomic placement, path-traversal rejection."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from asr.model_install import ModelInstallError, install_model


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_model_tree(root: Path, name: str = "vosk-model-test-0.1") -> Path:
    model = root / name
    (model / "am").mkdir(parents=True)
    (model / "conf").mkdir()
    (model / "am" / "final.mdl").write_bytes(b"\x00model" * 100)
    (model / "conf" / "model.conf").write_text("--sample-frequency=8000\n")
    return model


def make_zip(src: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(src.parent.rglob("*")):
            if src in p.parents or p == src:
                zf.write(p, p.relative_to(src.parent).as_posix())
    return archive


def make_tar(src: Path, archive: Path, mode: str = "w:gz") -> Path:
    with tarfile.open(archive, mode) as tf:
        tf.add(src, arcname=src.name)
    return archive


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar"])
def test_install_and_idempotent(tmp_path: Path, kind: str) -> None:
    src = make_model_tree(tmp_path / "src")
    archive = tmp_path / f"model.{kind}"
    if kind == "zip":
        make_zip(src, archive)
    else:
        make_tar(src, archive, "w:gz" if kind == "tar.gz" else "w")
    models = tmp_path / "models"
    target = install_model(str(archive), sha(archive), models)
    assert target == models / "vosk-model-test-0.1"
    assert (target / "am" / "final.mdl").read_bytes() == (src / "am" / "final.mdl").read_bytes()
    assert (target / "conf" / "model.conf").read_text() == "--sample-frequency=8000\n"
    assert sorted(p.name for p in models.iterdir()) == ["vosk-model-test-0.1"]  # no temp dirs left
    mtime = (target / "am" / "final.mdl").stat().st_mtime_ns
    assert install_model(str(archive), sha(archive).upper(), models) == target
    assert (target / "am" / "final.mdl").stat().st_mtime_ns == mtime  # same checksum: not reinstalled


def test_file_url_and_name_override(tmp_path: Path) -> None:
    archive = make_tar(make_model_tree(tmp_path / "src"), tmp_path / "m.tar.gz")
    target = install_model(archive.as_uri(), sha(archive), tmp_path / "models", name="zh-small")
    assert target.name == "zh-small" and (target / "am" / "final.mdl").is_file()


def test_new_version_replaces_old(tmp_path: Path) -> None:
    models = tmp_path / "models"
    a = make_tar(make_model_tree(tmp_path / "a"), tmp_path / "a.tar.gz")
    install_model(str(a), sha(a), models)
    src_b = make_model_tree(tmp_path / "b")
    (src_b / "am" / "final.mdl").write_bytes(b"new")
    b = make_tar(src_b, tmp_path / "b.tar.gz")
    target = install_model(str(b), sha(b), models)
    assert (target / "am" / "final.mdl").read_bytes() == b"new"
    assert sorted(p.name for p in models.iterdir()) == ["vosk-model-test-0.1"]


def test_checksum_mismatch_installs_nothing(tmp_path: Path) -> None:
    archive = make_zip(make_model_tree(tmp_path / "src"), tmp_path / "m.zip")
    models = tmp_path / "models"
    with pytest.raises(ModelInstallError, match="sha256 mismatch"):
        install_model(str(archive), "0" * 64, models)
    assert list(models.iterdir()) == []


def _tar_with(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        if member.isfile():
            member.size = len(data)
            tf.addfile(member, io.BytesIO(data))
        else:
            tf.addfile(member)
    return archive


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "model/../../evil.txt"])
def test_tar_path_traversal_rejected(tmp_path: Path, name: str) -> None:
    archive = _tar_with(tmp_path, tarfile.TarInfo(name))
    models = tmp_path / "models"
    with pytest.raises(ModelInstallError, match="unsafe path"):
        install_model(str(archive), sha(archive), models)
    assert not (tmp_path / "evil.txt").exists() and list(models.iterdir()) == []


def test_tar_symlink_rejected(tmp_path: Path) -> None:
    link = tarfile.TarInfo("model/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    archive = _tar_with(tmp_path, link)
    with pytest.raises(ModelInstallError, match="unsupported member"):
        install_model(str(archive), sha(archive), tmp_path / "models")


def test_zip_path_traversal_rejected(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model/ok.txt", "ok")
        zf.writestr("../evil.txt", "evil")
    with pytest.raises(ModelInstallError, match="unsafe path"):
        install_model(str(archive), sha(archive), tmp_path / "models")
    assert not (tmp_path / "evil.txt").exists()


def test_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an archive at all" * 10)
    with pytest.raises(ModelInstallError, match="neither"):
        install_model(str(junk), sha(junk), tmp_path / "models")
