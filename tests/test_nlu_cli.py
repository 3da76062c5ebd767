"""`waihu nlu classify` and `waihu nlu eval` contracts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FLOWS
from tests.test_cli import waihu

CREDIT_CARD = str(FLOWS / "credit_card_installment.yaml")
DEV_SET = Path(__file__).resolve().parent / "data" / "nlu_credit_card_dev.tsv"


def test_classify_prints_one_json_object_per_text() -> None:
    result = waihu(
        "nlu", "classify", "--flow", CREDIT_CARD, "--node", "offer", "不 需要", "力气多少", "蓝色的大象"
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [row["intent"] for row in rows] == ["deny", "faq:fee", "no_match"]
    assert set(rows[0]) == {"text", "intent", "confidence"} and rows[0]["text"] == "不 需要"


def test_eval_last_line_is_accuracy(tmp_path: Path) -> None:
    data = tmp_path / "set.tsv"
    data.write_text("# comment\naffirm\t好的\ndeny\t不要\nrepeat\t你说啥\nbusy\t好的\n\n", encoding="utf-8")
    result = waihu("nlu", "eval", "--flow", CREDIT_CARD, "--data", str(data), "--classifier", "rules")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "accuracy: 0.750 (3/4)"
    assert "worst confusions" in result.stdout and "precision" in result.stdout


def test_eval_json_and_node(tmp_path: Path) -> None:
    data = tmp_path / "set.tsv"
    data.write_text("affirm\t可以\nfaq:fee\t手续费多少\n", encoding="utf-8")
    result = waihu(
        "nlu",
        "eval",
        "--flow",
        CREDIT_CARD,
        "--data",
        str(data),
        "--node",
        "offer",
        "--json",
        "--classifier",
        "rules",
    )
    report = json.loads(result.stdout.strip().splitlines()[0])
    assert report["accuracy"] == 1.0 and report["per_intent"]["affirm"]["recall"] == 1.0
    assert result.stdout.strip().splitlines()[-1] == "accuracy: 1.000 (2/2)"


def test_eval_names_a_malformed_line(tmp_path: Path) -> None:
    data = tmp_path / "set.tsv"
    data.write_text("affirm\t好的\nno tab here\n", encoding="utf-8")
    result = waihu("nlu", "eval", "--flow", CREDIT_CARD, "--data", str(data), "--classifier", "rules")
    assert result.returncode == 2 and f"{data}:2:" in result.stderr


def test_unknown_node_is_a_usage_error() -> None:
    result = waihu("nlu", "classify", "--flow", CREDIT_CARD, "--node", "nope", "--classifier", "rules", "好")
    assert result.returncode == 2 and "--node" in result.stderr


def test_dev_set_accuracy_on_credit_card_flow() -> None:
    if not DEV_SET.is_file():
        raise AssertionError(f"development set missing: {DEV_SET}")
    result = waihu("nlu", "eval", "--flow", CREDIT_CARD, "--data", str(DEV_SET))
    accuracy = float(result.stdout.strip().splitlines()[-1].split()[1])
    assert accuracy >= 0.95, result.stdout[-3000:]


def test_classifier_kinds_differ_on_a_paraphrase() -> None:
    """The model layer is really used: it understands what no keyword covers."""
    text = "我这边暂时用不上这个"
    rules = waihu("nlu", "classify", "--flow", CREDIT_CARD, "--node", "offer", "--classifier", "rules", text)
    model = waihu("nlu", "classify", "--flow", CREDIT_CARD, "--node", "offer", text)
    assert json.loads(model.stdout)["intent"] == "deny", model.stdout + model.stderr
    assert json.loads(rules.stdout)["confidence"] < json.loads(model.stdout)["confidence"]
