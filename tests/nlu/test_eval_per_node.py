"""`waihu nlu eval --per-node`: each line classified at the node it would be heard at."""

from __future__ import annotations

import json
from pathlib import Path

from dialog.loader import load_flow
from nlu.evaluation import DataFileError, evaluate, read_examples
from nlu.factory import build_classifier
from nlu.intent_space import candidates
from tests.conftest import FLOWS
from tests.test_cli import waihu

REMINDER = FLOWS / "appointment_reminder_en.yaml"


def test_third_column_is_the_node(tmp_path: Path) -> None:
    data = tmp_path / "set.tsv"
    data.write_text("affirm\tyes\treminder\ndeny\tno\n", encoding="utf-8")
    first, second = read_examples(data)
    assert (first.node, second.node) == ("reminder", None)
    data.write_text("affirm\tyes\treminder\textra\n", encoding="utf-8")
    try:
        read_examples(data)
    except DataFileError as exc:
        assert f"{data}:1:" in str(exc)
    else:
        raise AssertionError("a fourth column must be an error")


def test_node_changes_what_competes(tmp_path: Path) -> None:
    flow = load_flow(REMINDER)
    data = tmp_path / "set.tsv"
    # prefer_morning is an answer only at reschedule_when: elsewhere it cannot win.
    data.write_text("prefer_morning\tmornings please\treschedule_when\n", encoding="utf-8")
    examples = read_examples(data)
    rules = build_classifier(flow, "rules")
    at_node = evaluate(rules, examples, None, node_candidates=lambda node: candidates(flow, node))
    at_greeting = evaluate(rules, examples, candidates(flow, "greeting"))
    assert at_node.accuracy == 1.0 and at_greeting.accuracy == 0.0
    assert at_node.outcomes[0][0] == "prefer_morning"


def test_cli_per_node(tmp_path: Path) -> None:
    data = tmp_path / "set.tsv"
    data.write_text(
        "prefer_morning\tmornings please\treschedule_when\ncancel\tcancel it\treminder\n", encoding="utf-8"
    )
    args = ("nlu", "eval", "--flow", str(REMINDER), "--data", str(data), "--classifier", "rules")
    result = waihu(*args, "--per-node", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["accuracy"] == 1.0
    assert result.stdout.strip().splitlines()[-1] == "accuracy: 1.000 (2/2)"
    data.write_text("cancel\tcancel it\tnowhere\n", encoding="utf-8")
    bad = waihu(*args, "--per-node")
    assert bad.returncode == 2 and f"{data}:1:" in bad.stderr and "nowhere" in bad.stderr
