"""`waihu flow validate`: every kind of mistake is reported at FILE:LINE:COL with a clear message."""

from __future__ import annotations

import pytest

from dialog.loader import load_flow_text
from tests.conftest import MINIMAL_FLOW


def _line_of(text: str, marker: str) -> int:
    """Line where ``marker`` (possibly several lines, unique in ``text``) starts."""
    assert text.count(marker) == 1, f"marker {marker!r} must be unique"
    return text.count("\n", 0, text.index(marker)) + 1


# (kind, original fragment, replacement, expected message fragment, line marker or None)
MISTAKES = [
    ("yaml syntax", "  language: zh\n", "  language: [zh\n", "YAML syntax error", None),
    ("not a mapping", MINIMAL_FLOW, "- just\n- a list\n", "must be a YAML mapping", None),
    ("missing field", "  name: Mini\n", "", "missing required field 'name'", "flow:"),
    (
        "unknown field",
        "    then: hangup\n  bye:",
        "    thn: hangup\n  bye:",
        "unknown field 'thn' (did you mean 'then'?)",
        "thn:",
    ),
    ("bad language", "language: zh", "language: fr", "flow.language", "language: fr"),
    (
        "wrong type",
        "max_per_node: 1, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}\n  no_match",
        "max_per_node: many, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}\n  no_match",
        "valid integer",
        "max_per_node: many",
    ),
    ("unknown start", "start: ask", "start: asks", "start node 'asks' is not defined", "start: asks"),
    ("unknown goto", "goto: done}", "goto: don}", "next step 'don' is not a node", "goto: don}"),
    (
        "unreachable node",
        "      deny: {tags: [no], next: bye}\n",
        "      deny: {tags: [no], next: hangup}\n",
        "node 'bye' is unreachable",
        "  bye:",
    ),
    (
        "undeclared variable",
        "已为您办理，再见。",
        "已为您办理{amount}，再见。",
        "variable '{amount}' is not declared",
        "{amount}",
    ),
    ("malformed template", "已为您办理，再见。", "已为您办理{，再见。", "malformed template", "办理{"),
    (
        "intent without definition",
        "      deny: {tags: [no], next: bye}\n",
        "      deny: {tags: [no], next: bye}\n      maybe: {next: bye}\n",
        "intent 'maybe' is not defined",
        "maybe:",
    ),
    (
        "intent without examples",
        "  busy: {examples: [在忙], keywords: [忙]}",
        "  busy: {examples: [], keywords: [忙]}",
        "intent 'busy' has no examples",
        "  busy: {examples: []",
    ),
    (
        "missing no_match handling",
        "  no_match: {replies: [没听清。], max_per_node: 1, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}\n",
        "",
        "does not handle no_match",
        "  ask:",
    ),
    (
        "missing no_input handling",
        "  no_input: {replies: [喂？], max_per_node: 1, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}\n",
        "",
        "does not handle no_input",
        "  ask:",
    ),
    (
        "duplicate KB id",
        "    answer: 免费的。\n",
        "    answer: 免费的。\n  - id: fee\n    questions: [收费吗]\n    answer: 不收。\n",
        "knowledge-base id 'fee' is duplicated",
        "  - id: fee\n    questions: [收费吗]",
    ),
    (
        "KB entry without questions",
        "    questions: [多少钱]\n",
        "",
        "has no example questions",
        "  - id: fee",
    ),
    (
        "unknown FAQ reference",
        "      deny: {tags: [no], next: bye}\n",
        "      deny: {tags: [no], next: bye}\n      faq:price: {next: stay}\n",
        "'faq:price' names no knowledge-base entry",
        "faq:price",
    ),
    (
        "reserved node id",
        "  bye:\n    prompt: 好的，再见。",
        "  hangup:\n    prompt: 好的，再见。",
        "reserved step name",
        "  hangup:\n",
    ),
    (
        "grade not declared",
        "{grade: A, when: {reached_any: [done]}}",
        "{grade: E, when: {reached_any: [done]}}",
        "grade 'E' is not one of",
        "grade: E",
    ),
    (
        "grading names unknown node",
        "reached_any: [done]",
        "reached_any: [finish]",
        "node 'finish' is not defined",
        "reached_any: [finish]",
    ),
    (
        "duplicate YAML key",
        "  done:\n    prompt: 已为您办理，再见。",
        "  ask:\n    prompt: 重复\n  done:\n    prompt: 已为您办理，再见。",
        "duplicate key 'ask'",
        "  ask:\n    prompt: 重复",
    ),
    (
        "invalid regex",
        "  busy: {examples: [在忙], keywords: [忙]}",
        "  busy: {examples: [在忙], patterns: ['(忙']}",
        "not a valid regex",
        "patterns: ['(忙']",
    ),
    (
        "invalid DTMF key",
        "      deny: {tags: [no], next: bye}\n",
        "      deny: {tags: [no], next: bye}\n    dtmf: {'12': affirm}\n",
        "DTMF key",
        "dtmf:",
    ),
    (
        "exhausted fallback loops",
        "exhausted: {reply: 再见, next: hangup}}\n  no_match",
        "exhausted: {reply: 再见, next: stay}}\n  no_match",
        "must end the call or go to a node",
        "next: stay}}\n  no_match",
    ),
    (
        "goto and next disagree",
        "affirm: {reply: 好的, tags: [yes], goto: done}",
        "affirm: {reply: 好的, goto: done, next: bye}",
        "both goto",
        "goto: done, next: bye",
    ),
    (
        "missing audio file",
        "    prompt: 好的，再见。\n",
        "    prompt: 好的，再见。\n    audio: prompts/bye.wav\n",
        "audio file not found",
        "audio: prompts/bye.wav",
    ),
]


@pytest.mark.parametrize(("kind", "old", "new", "message", "marker"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_is_reported_with_position(
    kind: str, old: str, new: str, message: str, marker: str | None
) -> None:
    assert old in MINIMAL_FLOW, f"fixture lacks {old!r}"
    text = MINIMAL_FLOW.replace(old, new, 1)
    loaded = load_flow_text(text, "flows/bad.yaml")
    matching = [p for p in loaded.errors if message in p.message]
    assert matching, f"{kind}: expected {message!r}, got {[p.format() for p in loaded.problems]}"
    problem = matching[0]
    assert problem.file == "flows/bad.yaml"
    assert problem.format().startswith(f"flows/bad.yaml:{problem.line}:{problem.col}: ")
    if marker is not None:
        assert problem.line == _line_of(text, marker), f"{kind}: {problem.format()}"


def test_mistake_kinds_cover_at_least_fifteen() -> None:
    assert len({m[0] for m in MISTAKES}) >= 15


def test_valid_flow_has_no_problems() -> None:
    assert load_flow_text(MINIMAL_FLOW, "ok.yaml").problems == []


def test_yaml_syntax_error_points_at_line() -> None:
    text = MINIMAL_FLOW.replace("  language: zh\n", "  language: [zh\n")
    problem = load_flow_text(text, "f.yaml").errors[0]
    assert problem.line >= 4


def test_yes_and_no_stay_strings() -> None:
    text = MINIMAL_FLOW.replace("examples: [好的, 可以]", "examples: [yes, ok, on]").replace(
        "examples: [不要, 不用了]", "examples: [no, off]"
    )
    loaded = load_flow_text(text, "f.yaml")
    assert loaded.flow is not None, [p.format() for p in loaded.problems]
    assert loaded.flow.intents["affirm"].examples == ["yes", "ok", "on"]
    assert loaded.flow.intents["deny"].examples == ["no", "off"]


def test_unused_intent_is_a_warning_not_an_error() -> None:
    text = MINIMAL_FLOW.replace(
        "  busy: {examples: [在忙], keywords: [忙]}",
        "  busy: {examples: [在忙]}\n  spare: {examples: [备用]}",
    )
    loaded = load_flow_text(text, "f.yaml")
    assert not loaded.errors
    assert any("spare" in p.message and p.severity == "warning" for p in loaded.problems)


def test_kb_in_separate_file_reports_errors_in_that_file(tmp_path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(
        "entries:\n  - id: fee\n    questions: [多少钱]\n    answer: 免费。\n  - id: fee\n    questions: [收费吗]\n    answer: 不收。\n"
    )
    head, _sep, _tail = MINIMAL_FLOW.partition("knowledge_base:")
    tail = MINIMAL_FLOW.split("    answer: 免费的。\n", 1)[1]
    flow_file = tmp_path / "flow.yaml"
    flow_file.write_text(head + "knowledge_base: {file: kb.yaml}\n" + tail)
    from dialog.loader import load_flow_file

    loaded = load_flow_file(flow_file)
    duplicate = [p for p in loaded.errors if "duplicated" in p.message]
    assert duplicate and duplicate[0].file.endswith("kb.yaml") and duplicate[0].line == 5


def test_kb_file_reference_loads_entries(tmp_path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text("- id: fee\n  questions: [多少钱]\n  answer: 免费。\n")
    head, _sep, _tail = MINIMAL_FLOW.partition("knowledge_base:")
    tail = MINIMAL_FLOW.split("    answer: 免费的。\n", 1)[1]
    (tmp_path / "flow.yaml").write_text(head + "knowledge_base: {file: kb.yaml}\n" + tail)
    from dialog.loader import load_flow

    flow = load_flow(tmp_path / "flow.yaml")
    assert [entry.id for entry in flow.kb_entries] == ["fee"]
