"""The engine's fetch node: FetchData out, DataFetched in, three branches; pure (no fetcher here)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dialog import actions as act
from dialog import events as ev
from dialog.engine import Engine
from dialog.live_data import MappingError, map_answer, render_url
from tests.live_data.flows import fetch_flow

pytestmark = pytest.mark.unit


def _at_fetch(**kwargs: object) -> tuple[Engine, act.FetchData]:
    engine = Engine(fetch_flow(**kwargs))
    engine.start({"customer_id": "C 1/01", "name": "张先生"})
    actions = engine.handle(ev.UserUtterance("是的", "affirm"))
    fetches = [action for action in actions if isinstance(action, act.FetchData)]
    assert len(fetches) == 1 and not any(isinstance(a, act.Say | act.Listen) for a in actions)
    assert engine.state.phase == "fetching" and engine.state.node == "bill"
    return engine, fetches[0]


def _said(actions: list[act.Action]) -> str:
    return " ".join(action.text for action in actions if isinstance(action, act.Say))


def test_the_fetch_action_carries_the_rendered_url_and_mapping() -> None:
    _engine, fetch = _at_fetch()
    # A variable is URL-encoded: it can never add a path segment or a query parameter.
    assert fetch.url == "https://strategy.example.com/bills/C%201%2F01"
    assert fetch.method == "GET" and fetch.body == {} and fetch.retries == 0
    assert fetch.timeout_s == pytest.approx(0.3)
    assert fetch.map == {"amount": "bill.amount", "plans": "plans"}


def test_a_post_fetch_sends_the_call_variables() -> None:
    _engine, fetch = _at_fetch(method="POST", retries=1)
    assert fetch.method == "POST" and fetch.retries == 1
    assert fetch.body["customer_id"] == "C 1/01" and fetch.body["name"] == "张先生"


def test_success_fills_the_variables_and_speaks_them() -> None:
    engine, _fetch = _at_fetch()
    actions = engine.handle(ev.DataFetched("ok", {"amount": "8650", "plans": "三期、六期"}))
    assert "您本期账单8650元，可以分三期、六期" in _said(actions)
    assert engine.state.node == "offer" and engine.state.phase == "listening"
    assert engine.state.variables["amount"] == "8650"
    [record] = engine.state.fetches
    assert record.status == "ok" and record.variables == ["amount", "plans"]
    assert engine.state.visited == ["ask", "bill", "offer"] and "fetching" in engine.state.tags


def test_timeout_and_error_take_their_branches() -> None:
    engine, _ = _at_fetch()
    actions = engine.handle(ev.DataFetched("timeout", detail="ReadTimeout"))
    assert engine.state.node == "general" and "账单可以分期" in _said(actions)
    assert engine.state.variables["amount"] == ""  # nothing half-filled
    engine, _ = _at_fetch()
    actions = engine.handle(ev.DataFetched("error", detail="HTTP 500"))
    assert engine.state.node == "sorry" and any(isinstance(a, act.Hangup) for a in actions)
    assert engine.state.fetches[0].detail == "HTTP 500"


def test_a_missing_value_is_an_error_never_a_broken_sentence() -> None:
    engine, _ = _at_fetch()
    actions = engine.handle(ev.DataFetched("ok", {"amount": "8650"}))
    assert engine.state.node == "sorry" and "{plans}" not in _said(actions)
    assert engine.state.fetches[0].status == "error" and "plans" in engine.state.fetches[0].detail
    assert "amount" not in [name for record in engine.state.fetches for name in record.variables]
    engine, _ = _at_fetch()
    engine.handle(ev.DataFetched("maybe"))
    assert engine.state.node == "sorry"


def test_callee_input_while_fetching_is_ignored_and_a_hangup_ends_the_call() -> None:
    engine, _ = _at_fetch()
    assert engine.handle(ev.UserUtterance("好的", "affirm")) == []
    assert engine.handle(ev.NoInput()) == []
    assert engine.handle(ev.DtmfDigit("1")) == []
    engine.handle(ev.CalleeHangup())
    assert engine.finished and engine.result().fetches == []
    assert engine.handle(ev.DataFetched("ok", {"amount": "1", "plans": "三期"})) == []


def test_an_answer_outside_a_fetch_is_ignored() -> None:
    engine = Engine(fetch_flow())
    engine.start({"customer_id": "C1"})
    assert engine.handle(ev.DataFetched("ok", {"amount": "1", "plans": "x"})) == []
    assert engine.state.node == "ask" and engine.state.variables["amount"] == ""


def test_a_fetching_call_resumes_from_its_dumped_state() -> None:
    engine, _ = _at_fetch()
    resumed = Engine.resume(engine.flow, engine.dump_state())
    assert resumed.state.phase == "fetching"
    resumed.handle(ev.DataFetched("ok", {"amount": "8650", "plans": "三期"}))
    assert resumed.state.node == "offer"
    assert json.loads(resumed.dump_state())["fetches"][0]["status"] == "ok"


def test_the_result_reports_the_fetches() -> None:
    engine, _ = _at_fetch()
    engine.handle(ev.DataFetched("ok", {"amount": "8650", "plans": "三期"}))
    engine.handle(ev.UserUtterance("好的", "affirm"))
    result = engine.result()
    assert result.fetches[0].node == "bill" and result.grade


def test_mapping_a_json_answer() -> None:
    document: dict[str, Any] = {
        "bill": {"amount": 8650.0, "due": "2026-12-05", "paid": False},
        "plans": [3, 6, 12],
    }
    values = map_answer(document, {"a": "bill.amount", "p": "plans", "first": "plans.0", "paid": "bill.paid"})
    assert values == {"a": "8650", "p": "3、6、12", "first": "3", "paid": "否"}
    for path, message in [
        ("bill.missing", "missing"),
        ("plans.9", "missing"),
        ("bill", "dict"),
        ("bill.none", "null"),
    ]:
        with pytest.raises(MappingError, match=message):
            map_answer({**document, "bill": {**document["bill"], "none": None}}, {"x": path})
    with pytest.raises(MappingError, match="longer"):
        map_answer({"x": "字" * 501}, {"x": "x"})
    with pytest.raises(MappingError, match="empty"):
        map_answer({"x": "  "}, {"x": "x"})


def test_rendering_a_url_encodes_every_value() -> None:
    url = render_url("https://h.example/b/{id}?q={q}", {"id": "../admin", "q": "a&b=c"})
    assert url == "https://h.example/b/..%2Fadmin?q=a%26b%3Dc"
