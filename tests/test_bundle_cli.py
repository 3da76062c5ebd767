"""``waihu flow bundle``: a flow and its recordings packed into the zip the service accepts."""

from __future__ import annotations

from pathlib import Path

from tests.security.test_flow_bundles import FLOW, WAV
from tests.test_cli import waihu
from waihu.service.bundles import read_bundle


def test_bundle_packs_the_flow_and_its_recordings(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "greeting.wav").write_bytes(WAV)
    (tmp_path / "prompts" / "unused.wav").write_bytes(WAV)
    flow = tmp_path / "tone.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    result = waihu("flow", "bundle", str(flow), "--out", str(tmp_path / "tone.zip"))
    assert result.returncode == 0, result.stderr
    bundle = read_bundle((tmp_path / "tone.zip").read_bytes())
    assert (bundle.yaml_name, bundle.yaml_text, bundle.recordings) == (
        "tone.yaml",
        FLOW,
        {"prompts/greeting.wav": WAV},
    )


def test_bundle_refuses_a_flow_whose_recording_is_missing_or_not_a_wav(tmp_path: Path) -> None:
    flow = tmp_path / "tone.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    missing = waihu("flow", "bundle", str(flow), "-o", str(tmp_path / "x.zip"))
    assert (
        missing.returncode == 1
        and "tone.yaml:6:5: audio file not found: prompts/greeting.wav" in missing.stderr
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "greeting.wav").write_text("not audio")
    bad = waihu("flow", "bundle", str(flow), "-o", str(tmp_path / "x.zip"))
    assert bad.returncode == 1 and "prompts/greeting.wav: not a PCM WAV" in bad.stderr
    assert not (tmp_path / "x.zip").exists()
