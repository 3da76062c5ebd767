"""The pure engine: answer-table lookup, globals, KB, fallbacks, repeat, barge-in, transfer, state."""

from __future__ import annotations

import pytest

from dialog import actions as act
from dialog import events as ev
from dialog.engine import Engine, EngineError
from dialog.loader import load_flow, load_flow_text
from dialog.schema import Flow
from tests.conftest import FLOWS, MINIMAL_FLOW


def _flow(text: str = MINIMAL_FLOW) -> Flow:
    loaded = load_flow_text(text, "mini.yaml")
    assert loaded.flow is not None and not loaded.errors, [p.format() for p in loaded.problems]
    return loaded.flow


def said(actions: list[act.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, act.Say)]


def utter(intent: str, text: str = "x", confidence: float = 0.9) -> ev.UserUtterance:
    return ev.UserUtterance(text, intent, confidence)


def test_start_renders_variables_with_defaults_and_listens() -> None:
    engine = Engine(_flow())
    actions = engine.start()
    assert said(actions) == ["客户您好，需要办理吗？"]
    assert isinstance(actions[-1], act.Listen) and actions[-1].node == "ask"
    engine2 = Engine(_flow())
    assert said(engine2.start({"name": "王女士"})) == ["王女士您好，需要办理吗？"]


def test_answer_table_cell_reply_tags_goto_and_grade() -> None:
    engine = Engine(_flow())
    engine.start()
    actions = engine.handle(utter("affirm"))
    assert said(actions) == ["好的", "已为您办理，再见。"]
    assert act.SetTag("yes") in actions
    assert isinstance(actions[-1], act.Hangup)
    result = engine.result()
    assert (result.grade, result.outcome, result.tags) == ("A", "robot_hangup", ["yes"])
    assert result.trace[0].node == "ask" and result.trace[0].next_node is None
    assert result.trace[0].reply == "好的 已为您办理，再见。"


def test_global_cell_applies_and_node_cell_overrides_it() -> None:
    engine = Engine(_flow())
    engine.start()
    actions = engine.handle(utter("busy"))
    assert said(actions) == ["那不打扰了"] and isinstance(actions[-1], act.Hangup)
    assert engine.result().trace[0].source == "global"

    overridden = MINIMAL_FLOW.replace(
        "      deny: {tags: [no], next: bye}\n",
        "      deny: {tags: [no], next: bye}\n      busy: {reply: 我长话短说, next: stay}\n",
    )
    engine = Engine(_flow(overridden))
    engine.start()
    actions = engine.handle(utter("busy"))
    assert said(actions) == ["我长话短说"] and isinstance(actions[-1], act.Listen)


def test_kb_answer_returns_to_interrupted_node_and_reasks() -> None:
    engine = Engine(_flow())
    engine.start({"name": "张先生"})
    actions = engine.handle(utter("faq:fee"))
    assert said(actions) == ["免费的。", "张先生您好，需要办理吗？"]
    assert engine.state.node == "ask" and engine.state.kb_hits == ["fee"]
    assert engine.state.trace[-1].source == "knowledge_base"


def test_no_match_rephrases_then_ends_politely() -> None:
    engine = Engine(_flow())
    engine.start()
    first = engine.handle(utter("no_match"))
    assert said(first) == ["没听清。", "请问需要办理吗？"]
    second = engine.handle(utter("no_match"))
    assert said(second) == ["再见"] and isinstance(second[-1], act.Hangup)
    assert engine.result().trace[-1].source == "exhausted"


def test_low_confidence_is_no_match() -> None:
    engine = Engine(_flow())
    engine.start()
    engine.handle(utter("affirm", confidence=0.2))
    assert engine.state.trace[-1].intent == "no_match" and engine.state.node == "ask"


def test_intent_without_cell_at_node_is_no_match() -> None:
    engine = Engine(_flow())
    engine.start()
    actions = engine.handle(utter("faq:unknown"))
    assert said(actions)[0] == "没听清。"


def test_no_input_counts_per_call() -> None:
    text = MINIMAL_FLOW.replace(
        "no_input: {replies: [喂？], max_per_node: 1, max_per_call: 2",
        "no_input: {replies: [喂？], max_per_node: 5, max_per_call: 2",
    )
    engine = Engine(_flow(text))
    engine.start()
    assert said(engine.handle(ev.NoInput()))[0] == "喂？"
    assert said(engine.handle(ev.NoInput()))[0] == "喂？"
    last = engine.handle(ev.NoInput())
    assert said(last) == ["再见"] and engine.finished


def test_repeat_replays_last_prompt_exactly() -> None:
    engine = Engine(_flow())
    engine.start({"name": "李女士"})
    actions = engine.handle(utter("repeat"))
    assert said(actions) == ["李女士您好，需要办理吗？"]
    assert isinstance(actions[-1], act.Listen)


def test_barge_in_respects_node_flag() -> None:
    engine = Engine(_flow())
    engine.start()
    assert engine.handle(ev.BargeIn()) == [act.StopSpeaking()]
    locked = MINIMAL_FLOW.replace('    prompt: ["{name}您好', '    barge_in: false\n    prompt: ["{name}您好')
    engine = Engine(_flow(locked))
    engine.start()
    assert engine.handle(ev.BargeIn()) == []


def test_callee_hangup_finishes_and_grades() -> None:
    engine = Engine(_flow())
    engine.start()
    engine.handle(utter("deny"))
    assert engine.finished and engine.result().grade == "D"
    engine = Engine(_flow())
    engine.start()
    assert engine.handle(ev.CalleeHangup()) == []
    result = engine.result()
    assert (result.outcome, result.grade, result.rounds) == ("callee_hangup", "C", 0)
    assert engine.handle(utter("affirm")) == []


def test_event_before_start_is_an_error() -> None:
    with pytest.raises(EngineError):
        Engine(_flow()).handle(utter("affirm"))
    engine = Engine(_flow())
    assert said(engine.handle(ev.Answered())) == ["客户您好，需要办理吗？"]


def test_dtmf_maps_to_intent() -> None:
    text = MINIMAL_FLOW.replace(
        "      deny: {tags: [no], next: bye}\n",
        "      deny: {tags: [no], next: bye}\n    dtmf: {'1': affirm, '2': deny}\n",
    )
    engine = Engine(_flow(text))
    engine.start()
    engine.handle(ev.DtmfDigit("1"))
    assert engine.state.visited == ["ask", "done"]
    assert engine.state.trace[0].kind == "dtmf" and engine.state.trace[0].intent == "affirm"


def test_max_turns_ends_the_call() -> None:
    text = MINIMAL_FLOW.replace(
        "start: ask", "start: ask\nsettings: {max_turns: 2, max_turns_reply: 先聊到这里}"
    )
    engine = Engine(_flow(text))
    engine.start()
    engine.handle(utter("faq:fee"))
    engine.handle(utter("faq:fee"))
    actions = engine.handle(utter("faq:fee"))
    assert said(actions) == ["先聊到这里"] and engine.result().hangup_reason == "max_turns"


CARD_VARS = {"name": "张先生", "amount": "12000"}


def test_required_variables_must_be_given(credit_card: Flow) -> None:
    with pytest.raises(EngineError, match="required variables missing: amount"):
        Engine(credit_card).start({"name": "张先生"})


@pytest.fixture(scope="module")
def credit_card() -> Flow:
    return load_flow(FLOWS / "credit_card_installment.yaml")


def test_transfer_carries_summary_then_completes(credit_card: Flow) -> None:
    engine = Engine(credit_card)
    engine.start({"name": "张先生", "amount": "12000"})
    engine.handle(ev.UserUtterance("是我", "affirm", 1.0))
    actions = engine.handle(ev.UserUtterance("我要人工", "ask_human", 0.9))
    transfer = next(a for a in actions if isinstance(a, act.Transfer))
    assert transfer.skill_group == "credit_card"
    assert transfer.summary.name == "张先生" and transfer.summary.grade == "A"
    assert "asked_human" in transfer.summary.tags
    assert transfer.summary.last_turns[0]["callee"] == "是我"
    assert not engine.finished
    engine.handle(ev.TransferCompleted())
    assert engine.result().outcome == "transferred"


def test_transfer_failure_runs_fallback_node(credit_card: Flow) -> None:
    engine = Engine(credit_card)
    engine.start(CARD_VARS)
    engine.handle(ev.UserUtterance("是我", "affirm", 1.0))
    engine.handle(ev.UserUtterance("人工", "ask_human", 1.0))
    actions = engine.handle(ev.TransferFailed("no_answer"))
    assert any("稍后会有客服回电" in text for text in said(actions))
    result = engine.result()
    assert result.outcome == "transfer_failed" and "callback" in result.tags


def test_do_not_call_marks_block_list(credit_card: Flow) -> None:
    engine = Engine(credit_card)
    engine.start(CARD_VARS)
    actions = engine.handle(ev.UserUtterance("别打了", "do_not_call", 1.0))
    assert act.MarkDoNotCall() in actions
    assert engine.result().dnc is True


def test_state_round_trips_and_resumes_identically(credit_card: Flow) -> None:
    script = [
        ev.UserUtterance("是我", "affirm", 1.0),
        ev.UserUtterance("手续费", "faq:fee", 0.8),
        ev.NoInput(),
        ev.UserUtterance("嗯", "no_match", 0.3),
        ev.UserUtterance("好", "affirm", 0.9),
        ev.UserUtterance("算了", "deny", 0.9),
        ev.UserUtterance("还是不要", "deny", 0.9),
    ]
    straight = Engine(credit_card)
    straight.start(CARD_VARS)
    straight_actions = [straight.handle(event) for event in script]

    resumed = Engine(credit_card)
    resumed.start(CARD_VARS)
    resumed_actions = [resumed.handle(event) for event in script[:3]]
    dumped = resumed.dump_state()
    resumed = Engine.resume(credit_card, dumped)
    assert resumed.dump_state() == dumped
    resumed_actions += [resumed.handle(event) for event in script[3:]]

    assert resumed_actions == straight_actions
    assert resumed.result() == straight.result()
    assert straight.result().grade == "D"


def test_resume_refuses_state_of_another_flow(credit_card: Flow) -> None:
    engine = Engine(_flow())
    engine.start()
    with pytest.raises(EngineError):
        Engine.resume(credit_card, engine.dump_state())


def test_return_uses_the_short_reask_when_the_node_has_one(credit_card: Flow) -> None:
    engine = Engine(credit_card)
    engine.start(CARD_VARS)
    engine.handle(ev.UserUtterance("是我", "affirm", 1.0))
    actions = engine.handle(ev.UserUtterance("手续费", "faq:fee", 0.9))
    assert said(actions)[-1] == "那您看，需要了解一下账单分期吗？"
    assert isinstance(actions[-1], act.Listen) and engine.state.node == "offer"


def test_recorded_fragments_are_mixed_with_synthesised_variables(tmp_path) -> None:
    text = MINIMAL_FLOW.replace(
        '    prompt: ["{name}您好，需要办理吗？", 请问需要办理吗？]',
        '    prompt: ["{name}您好，需要办理吗？", 请问需要办理吗？]\n    audio: {"您好，需要办理吗？": hello.wav}',
    )
    (tmp_path / "hello.wav").write_bytes(b"RIFF")  # only its existence is checked here
    loaded = load_flow_text(text, tmp_path / "mini.yaml")
    assert loaded.flow is not None and not loaded.errors, [p.format() for p in loaded.problems]
    engine = Engine(loaded.flow)
    say = engine.start({"name": "王女士"})[0]
    assert isinstance(say, act.Say)
    assert say.text == "王女士您好，需要办理吗？"
    assert say.parts == (("王女士", None), ("您好，需要办理吗？", "hello.wav"))
    assert engine.handle(utter("repeat"))[0] == say  # repeat replays the same pieces
    bad = text.replace('{"您好，需要办理吗？": hello.wav}', '{"不在提示里": hello.wav}')
    problems = load_flow_text(bad, tmp_path / "m.yaml").errors
    assert any("not in the node's first prompt" in p.message for p in problems)
    assert any("audio file not found" in p.message for p in load_flow_text(text, "elsewhere/m.yaml").errors)
