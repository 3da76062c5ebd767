"""`waihu models install vosk PATH_OR_URL --sha256 HEX` and `waihu models prepare`."""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from pathlib import Path

from tests.test_cli import waihu


def _waihu(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return waihu(*args, env={"WAIHU_MODELS_DIR": str(data_dir / "models")})


def _model_archive(tmp_path: Path) -> tuple[Path, str]:
    model = tmp_path / "src" / "vosk-model-small-test"
    for sub in ("am", "conf", "graph"):
        (model / sub).mkdir(parents=True)
        (model / sub / "README").write_text(sub)
    archive = tmp_path / "vosk-model-small-test.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model, arcname=model.name)
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def test_install_vosk_model_checks_sha256(tmp_path: Path) -> None:
    archive, digest = _model_archive(tmp_path)
    ok = _waihu("models", "install", "vosk", str(archive), "--sha256", digest, data_dir=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    installed = tmp_path / "models" / "vosk" / "vosk-model-small-test"
    assert (installed / "am" / "README").read_text() == "am"
    again = _waihu("models", "install", "vosk", str(archive), "--sha256", digest, data_dir=tmp_path)
    assert again.returncode == 0
    bad = _waihu("models", "install", "vosk", str(archive), "--sha256", "0" * 64, data_dir=tmp_path)
    assert bad.returncode == 1 and "sha256 mismatch" in bad.stdout
    malformed = _waihu("models", "install", "vosk", str(archive), "--sha256", "xyz", data_dir=tmp_path)
    assert malformed.returncode == 2 and "--sha256" in malformed.stderr
