"""NLU lint in `waihu flow validate`: near duplicates, ambiguous keywords, too few examples."""

from __future__ import annotations

from pathlib import Path

from dialog.loader import load_flow_text
from nlu.e5.embedder import get_embedder
from nlu.lint import ambiguous_keywords, few_examples, lint_flow, near_duplicates
from nlu.paths import data_dir
from tests.conftest import MINIMAL_FLOW
from tests.test_cli import waihu

LINTED = MINIMAL_FLOW.replace(
    "affirm: {examples: [好的, 可以], keywords: [好, 可以]}",
    "affirm: {examples: [好的, 可以, 行啊, 没问题, 可以的], keywords: [可以, 对]}",
).replace(
    "deny: {examples: [不要, 不用了], keywords: [不要, 不用]}",
    "deny: {examples: [不要, 不用了, 算了吧, 可以的, 好的!], keywords: [不要, 不用]}",
)


def _flow():
    loaded = load_flow_text(LINTED)
    assert loaded.flow is not None, [p.format() for p in loaded.problems]
    return loaded.flow


def test_near_duplicate_examples_across_intents_by_embedding() -> None:
    findings = list(near_duplicates(_flow(), get_embedder(data_dir())))
    # One warning per pair of intents: deny's 可以的 / 好的! against affirm's 可以 / 好的.
    assert [path[:2] for path, _message in findings] == [("intents", "deny")], findings
    assert "of affirm" in findings[0][1]
    assert all("cosine" in message for _path, message in findings)


def test_near_duplicates_without_a_model_fall_back_to_overlap() -> None:
    findings = list(near_duplicates(_flow(), None))
    # Without embeddings only (near) identical texts are found: 好的! is 好的 once normalised.
    assert any("'好的'" in message and "overlap" in message for _path, message in findings), findings


def test_a_short_keyword_inside_common_words_is_flagged() -> None:
    findings = list(ambiguous_keywords(_flow()))
    flagged = {message.split("'")[1] for _path, message in findings}
    assert "对" in flagged and "不要" not in flagged, findings
    assert any("对面" in message or "对于" in message for _path, message in findings)


def test_intents_with_too_few_examples() -> None:
    findings = list(few_examples(_flow()))
    owners = {path[1] for path, _message in findings}
    assert {"repeat", "busy"} <= owners and "affirm" not in owners and "deny" not in owners
    assert any(path[:2] == ("knowledge_base", 0) for path, _message in findings)


def test_validate_prints_lint_warnings_at_positions(tmp_path: Path) -> None:
    path = tmp_path / "linted.yaml"
    path.write_text(LINTED, encoding="utf-8")
    result = waihu("flow", "validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr  # warnings, not errors
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"{path}:")]
    assert any("warning: keyword '对'" in line for line in lines), result.stdout
    assert any("has 1 example" in line for line in lines), result.stdout
    quiet = waihu("flow", "validate", "--no-nlu-lint", str(path))
    assert quiet.returncode == 0 and "warning: keyword '对'" not in quiet.stdout


def test_lint_flow_gathers_every_check() -> None:
    messages = [message for _path, message in lint_flow(_flow())]
    assert any("near duplicate" in m for m in messages) and any("common words" in m for m in messages)
