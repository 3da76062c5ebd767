"""Points 3 and 4 on the command line and in the loader: local flows and the files they name, YAML bombs.

A flow on the operator's disk may name files in its own directory; absolute paths, ``..`` and symlinks
out of it are refused unless explicitly allowed. Hostile YAML (alias bombs, recursive aliases, deep
nesting) is reported as ``FILE:LINE:COL: message``, never as a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialog.flow_files import ALLOW_OUTSIDE_ENV, NO_FILES, FileAccess
from dialog.loader import load_flow, load_flow_file, load_flow_text
from dialog.problems import FlowError
from tests.conftest import MINIMAL_FLOW
from tests.security.test_service_attacks import KB_SECRET, _flow_with_kb, alias_bomb
from tests.test_cli import waihu
from waihu_env import reload_environment

AUDIO_LINE = "    prompt: 好的，再见。\n"


def _write_flow(directory: Path, reference: str) -> Path:
    path = directory / "flow.yaml"
    path.write_text(_flow_with_kb(reference), encoding="utf-8")
    return path


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """``project/flows/`` with a KB next to the flow and ``project/secret.yaml`` outside it."""
    flows = tmp_path / "project" / "flows"
    (flows / "kb").mkdir(parents=True)
    (flows / "kb" / "faq.yaml").write_text(
        "- id: fee\n  questions: [多少钱]\n  answer: 免费。\n", encoding="utf-8"
    )
    secret = tmp_path / "project" / "secret.yaml"
    secret.write_text(KB_SECRET, encoding="utf-8")
    return flows, secret


def test_local_flow_reads_files_in_its_directory(layout: tuple[Path, Path]) -> None:
    flows, _secret = layout
    flow = load_flow(_write_flow(flows, "kb/faq.yaml"))
    assert [entry.id for entry in flow.kb_entries] == ["fee"]


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "dotdot-inside"])
def test_local_flow_cannot_escape_its_directory(
    layout: tuple[Path, Path], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    flows, secret = layout
    if kind == "symlink":
        (flows / "link.yaml").symlink_to(secret)
    reference = {
        "absolute": str(secret),
        "dotdot": "../secret.yaml",
        "symlink": "link.yaml",
        "dotdot-inside": "kb/../../secret.yaml",
    }[kind]
    loaded = load_flow_file(_write_flow(flows, reference))
    messages = [problem.format() for problem in loaded.errors]
    assert any("knowledge_base.file" in m and "outside the flow's directory" in m for m in messages), messages
    assert loaded.flow is None or not loaded.flow.kb_entries
    assert "TOPSECRET" not in " ".join(messages)
    allowed = load_flow_file(_write_flow(flows, reference), files=FileAccess.local(allow_outside=True))
    assert [entry.id for entry in allowed.flow.kb_entries] == ["leaked"]  # the operator asked for it
    monkeypatch.setenv(ALLOW_OUTSIDE_ENV, "1")
    reload_environment()
    assert not load_flow_file(_write_flow(flows, reference)).errors


def test_local_audio_cannot_escape_its_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    (tmp_path / "bye.wav").write_bytes(b"RIFF")
    inside = MINIMAL_FLOW.replace(AUDIO_LINE, AUDIO_LINE + "    audio: bye.wav\n")
    assert not load_flow_text(inside, tmp_path / "f.yaml").errors
    for escape in ("/etc/hostname", "../bye.wav"):
        text = MINIMAL_FLOW.replace(AUDIO_LINE, AUDIO_LINE + f"    audio: {escape}\n")
        errors = load_flow_text(text, tmp_path / "sub" / "f.yaml").errors
        assert any("nodes.bye.audio" in p.message and "outside" in p.message for p in errors), errors
    cell = MINIMAL_FLOW.replace(
        "busy: {reply: 那不打扰了, next: hangup}", "busy: {reply: 那不打扰了, audio: /x.wav, next: hangup}"
    )
    assert any("global.busy.audio" in p.message for p in load_flow_text(cell, tmp_path / "f.yaml").errors)
    assert any(
        "cannot reference files" in p.message for p in load_flow_text(inside, "f.yaml", files=NO_FILES).errors
    )


def test_cli_validate_refuses_outside_files_unless_allowed(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    flows, _secret = layout
    path = _write_flow(flows, "../secret.yaml")
    refused = waihu("flow", "validate", str(path))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"{path}:" in refused.stdout and "outside the flow's directory" in refused.stdout
    allowed = waihu("flow", "validate", "--allow-outside-files", str(path))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


BAD_YAML = {
    "bomb.yaml": (alias_bomb(), "alias expansion exceeds"),
    "recursive.yaml": ("flow: &a [*a]\n", "recursive alias"),
    "deep.yaml": ("flow: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32"),
    "deep_block.yaml": (
        "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "x: 1\n",
        "nested deeper",
    ),
    "aliases.yaml": ("a: &a 1\nb: [" + ", ".join(["*a"] * 150) + "]\n", "more than 100 aliases"),
    "big.yaml": (MINIMAL_FLOW + "#" + "x" * (1024 * 1024) + "\n", "larger than"),
}


def test_cli_reports_hostile_yaml_at_a_position(tmp_path: Path) -> None:
    paths = []
    for name, (text, _message) in BAD_YAML.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    result = waihu("flow", "validate", *paths)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    for name, (_text, message) in BAD_YAML.items():
        found = [line for line in lines if line.startswith(f"{tmp_path / name}:") and message in line]
        assert found, (name, lines)
        line, col, _message = found[0][len(str(tmp_path / name)) + 1 :].split(":", 2)
        assert line.isdigit() and col.isdigit(), found[0]


def test_loader_never_raises_on_hostile_yaml() -> None:
    for name, (text, message) in BAD_YAML.items():
        loaded = load_flow_text(text, name)
        assert loaded.flow is None and message in loaded.errors[0].message, (name, loaded.problems)
    with pytest.raises(FlowError):
        load_flow("/nonexistent/flow.yaml")
