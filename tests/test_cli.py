"""The waihu command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FLOWS, MINIMAL_FLOW, ROOT


def waihu(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the waihu CLI as a subprocess of this interpreter."""
    env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "waihu.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_validate_ok_and_errors(tmp_path: Path) -> None:
    ok = waihu("flow", "validate", str(FLOWS / "credit_card_installment.yaml"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL_FLOW.replace("goto: done}", "goto: don}"), encoding="utf-8")
    result = waihu("flow", "validate", str(bad))
    assert result.returncode == 1
    assert f"{bad}:15:" in result.stdout and "next step 'don' is not a node" in result.stdout


def test_schema_is_json_schema() -> None:
    result = waihu("flow", "schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "waihu flow" and "nodes" in schema["properties"]
    assert "global" in schema["properties"]


def test_flow_test_command() -> None:
    result = waihu("flow", "test", str(FLOWS / "credit_card_installment.yaml"), "--classifier", "rules")
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")


@pytest.mark.models  # the default NLU loads the e5 model
def test_chat_reads_piped_stdin() -> None:
    script = "是我\n手续费多少\n\n好的\n可以\n"
    result = waihu(
        "chat",
        str(FLOWS / "credit_card_installment.yaml"),
        "--var",
        "name=张先生",
        "--var",
        "amount=12000",
        "--json",
        stdin=script,
    )
    assert result.returncode == 0, result.stderr
    assert "张先生您好" in result.stdout and "faq:fee" in result.stdout
    final = json.loads(result.stdout.strip().splitlines()[-1])
    assert final["grade"] == "A" and final["outcome"] == "transferred"
    assert [turn["intent"] for turn in final["trace"]] == [
        "affirm",
        "faq:fee",
        "no_input",
        "affirm",
        "affirm",
    ]


def test_chat_hangup_command_and_bad_var() -> None:
    card = str(FLOWS / "credit_card_installment.yaml")
    result = waihu(
        "chat", card, "--var", "name=张先生", "--var", "amount=1", "--classifier", "rules", stdin="/hangup\n"
    )
    assert result.returncode == 0 and "callee_hangup" in result.stdout
    missing = waihu("chat", card, "--var", "name=张先生", "--classifier", "rules", stdin="")
    assert missing.returncode == 2 and "amount" in missing.stderr
    bad = waihu("chat", str(FLOWS / "credit_card_installment.yaml"), "--var", "novalue", stdin="")
    assert bad.returncode == 2 and "key=value" in bad.stderr


@pytest.mark.models  # synthesises 100+ clauses with the real espeak-ng (no Kokoro in a fresh data dir)
def test_tts_warm_caches_fixed_prompts(tmp_path: Path) -> None:
    env = {"WAIHU_DATA_DIR": str(tmp_path)}
    first = waihu("tts", "warm", str(FLOWS / "appointment_reminder_en.yaml"), env=env)
    assert first.returncode == 0, first.stderr
    prompts = int(first.stdout.split(" fixed prompts")[0].split()[-1])
    made = int(first.stdout.split(" synthesised")[0].split()[-1])
    assert prompts > 10 and made >= prompts  # cached clause by clause
    assert len(list((tmp_path / "cache" / "prompts").rglob("*.wav"))) == made
    again = waihu("tts", "warm", str(FLOWS / "appointment_reminder_en.yaml"), env=env)
    assert "by clause: 0 synthesised" in again.stdout, again.stdout


def test_flow_commands_accept_a_directory() -> None:
    """`waihu flow test flows` runs every shipped flow's tests (it used to print 0 passed, 1 failed)."""
    tested = waihu("flow", "test", "flows", "--classifier", "rules")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    last = tested.stdout.strip().splitlines()[-1]
    assert last.endswith("passed, 0 failed") and not last.startswith("0 passed"), last
    validated = waihu("flow", "validate", "flows")
    shipped = len(list(FLOWS.glob("*.yaml")))
    assert validated.returncode == 0 and validated.stdout.count("ok flows/") == shipped, validated.stdout
