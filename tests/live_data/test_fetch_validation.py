"""`waihu flow validate` on fetch nodes: every mistake at FILE:LINE:COL with a clear message."""

from __future__ import annotations

import pytest

from dialog.loader import load_flow_text
from tests.live_data.flows import fetch_flow_text

pytestmark = pytest.mark.unit
GOOD = fetch_flow_text()


def _line_of(text: str, marker: str) -> int:
    assert text.count(marker) == 1, f"marker {marker!r} must be unique"
    return text.count("\n", 0, text.index(marker)) + 1


# (kind, original fragment, replacement, expected message, line marker, severity)
MISTAKES = [
    (
        "not http",
        'url: "https://strategy.example.com/bills/{customer_id}"',
        'url: "ftp://strategy.example.com/bills/{customer_id}"',
        "must start with http:// or https://",
        "ftp://",
        "error",
    ),
    (
        "variable in host",
        'url: "https://strategy.example.com/bills/{customer_id}"',
        'url: "https://{customer_id}.example.com/bills"',
        "host must be written out",
        "https://{customer_id}",
        "error",
    ),
    (
        "unknown url variable",
        "bills/{customer_id}",
        "bills/{customer}",
        "url variable '{customer}' is not declared",
        "bills/{customer}",
        "error",
    ),
    (
        "malformed url template",
        "bills/{customer_id}",
        "bills/{customer_id",
        "malformed template",
        "bills/",
        "error",
    ),
    (
        "undeclared mapped variable",
        "map: {amount: bill.amount, plans: plans}",
        "map: {amount: bill.amount, plans: plans, due: bill.due}",
        "mapped variable 'due' is not declared",
        "map:",
        "error",
    ),
    (
        "missing branch target",
        "on_timeout: general",
        "on_timeout: generic",
        "on_timeout 'generic' is not a node nor one of hangup, transfer",
        "on_timeout: generic",
        "error",
    ),
    (
        "branch to itself",
        "on_error: sorry",
        "on_error: bill",
        "on_error would fetch again at once",
        "on_error: bill",
        "error",
    ),
    (
        "timeout too long",
        "timeout_ms: 300",
        "timeout_ms: 5000",
        "less than or equal to 3000",
        "timeout_ms",
        "error",
    ),
    ("too many retries", "retries: 0", "retries: 2", "less than or equal to 1", "retries: 2", "error"),
    ("bad method", "method: GET", "method: DELETE", "'GET' or 'POST'", "method: DELETE", "error"),
    (
        "bad json path",
        "amount: bill.amount,",
        "amount: bill..amount,",
        "not a dotted JSON path",
        "map:",
        "error",
    ),
    (
        "fetch node that speaks",
        "    tags: [fetching]\n",
        "    tags: [fetching]\n    prompt: 请稍等\n",
        "a fetch node only fetches and branches: remove prompt",
        "  bill:",
        "error",
    ),
    (
        "node with neither prompt nor fetch",
        "    prompt: 系统繁忙，稍后再联系您，再见。\n",
        "",
        "a node needs at least one prompt (or a fetch:)",
        "  sorry:",
        "error",
    ),
    (
        "unknown fetch field",
        "      retries: 0\n",
        "      retry: 0\n",
        "unknown field 'retry'",
        "retry:",
        "error",
    ),
]


@pytest.mark.parametrize(
    ("kind", "old", "new", "message", "marker", "severity"), MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_fetch_mistake_is_reported_with_position(
    kind: str, old: str, new: str, message: str, marker: str, severity: str
) -> None:
    assert GOOD.count(old) == 1, kind
    text = GOOD.replace(old, new)
    loaded = load_flow_text(text, "flows/bad.yaml")
    matching = [p for p in loaded.problems if message in p.message]
    assert matching, f"{kind}: expected {message!r}, got {[p.format() for p in loaded.problems]}"
    problem = matching[0]
    assert problem.severity == severity
    assert problem.format().startswith(f"flows/bad.yaml:{problem.line}:{problem.col}: ")
    assert problem.line == _line_of(text, marker), f"{kind}: {problem.format()}"


def test_the_good_flow_has_no_problems() -> None:
    assert load_flow_text(GOOD, "ok.yaml").problems == []


def test_fetch_nodes_looping_among_themselves_are_refused() -> None:
    # A second fetch node at the end of nodes: (before intents:) whose error branch fetches again.
    text = GOOD.replace("on_error: sorry", "on_error: again").replace(
        "intents:\n",
        "  again:\n    fetch:\n      url: https://strategy.example.com/x\n      map: {amount: a}\n"
        "      on_success: offer\n      on_timeout: general\n      on_error: bill\nintents:\n",
    )
    loaded = load_flow_text(text, "f.yaml")
    messages = [p.message for p in loaded.errors]
    assert any("can loop back to itself through fetch nodes only" in m for m in messages), messages


def test_a_fetch_node_needs_no_no_input_handling_and_may_end_the_call() -> None:
    text = GOOD.replace("on_error: sorry", "on_error: hangup").replace(
        "  sorry:\n    prompt: 系统繁忙，稍后再联系您，再见。\n    then: hangup\n", ""
    )
    loaded = load_flow_text(text, "f.yaml")
    assert loaded.errors == [], [p.format() for p in loaded.problems]


def test_a_mapped_variable_no_text_uses_is_a_warning() -> None:
    text = GOOD.replace(
        "  plans: {description: filled by the fetch}\n",
        "  plans: {description: filled by the fetch}\n  due: {}\n",
    ).replace(
        "map: {amount: bill.amount, plans: plans}", "map: {amount: bill.amount, plans: plans, due: bill.due}"
    )
    loaded = load_flow_text(text, "f.yaml")
    [problem] = loaded.problems
    assert problem.severity == "warning" and "mapped variable 'due' is never used" in problem.message
    assert problem.line == _line_of(text, "map:")
