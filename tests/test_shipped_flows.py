"""Every shipped flow validates cleanly and passes its own flow tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialog.loader import load_flow_file
from dialog.schema import STANDARD_GLOBAL_INTENTS
from tests.conftest import FLOWS
from waihu.flowtest import flow_tests_path, run_test_file

SHIPPED = sorted(FLOWS.glob("*.yaml"))


def test_the_three_flows_ship() -> None:
    names = {path.stem for path in SHIPPED}
    assert "credit_card_installment" in names
    assert len(SHIPPED) >= 3, names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_flow_is_valid_without_warnings(path: Path) -> None:
    loaded = load_flow_file(path)
    assert loaded.flow is not None
    assert loaded.problems == [], [p.format() for p in loaded.problems]
    assert set(STANDARD_GLOBAL_INTENTS) <= set(loaded.flow.intents)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_flow_tests_pass(path: Path) -> None:
    assert flow_tests_path(path).is_file(), f"{path.name} ships without tests"
    results = run_test_file(path)
    assert len(results) >= 10
    failures = [f"{r.name}: {f}" for r in results for f in r.failures]
    assert not failures, "\n".join(failures)


def test_credit_card_flow_has_the_required_faqs() -> None:
    flow = load_flow_file(FLOWS / "credit_card_installment.yaml").flow
    assert flow is not None and flow.flow.language == "zh"
    ids = {entry.id for entry in flow.kb_entries}
    assert {"fee", "periods", "credit_report", "early_repayment", "how_to_apply", "amount"} <= ids


def test_a_broken_expectation_fails(tmp_path: Path) -> None:
    """Flow tests can fail: a wrong expected grade is reported."""
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    flow = (FLOWS / "credit_card_installment.yaml").resolve()
    (tests_dir / "x.yaml").write_text(
        f"flow: {flow}\nvariables: {{name: 张先生, amount: '1'}}\ncases:\n  - name: wrong grade\n    turns:\n      - say: 你打错了\n    end: {{grade: A}}\n",
        encoding="utf-8",
    )
    [result] = run_test_file(tests_dir / "x.yaml", "rules")
    assert not result.passed and "expected grade A, got D" in result.failures[0]
