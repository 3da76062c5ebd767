"""Rules that know their limits: words not substrings, clause coverage, negation, exact-only keywords.

The cases are the errors issue #18 reports (a keyword inside a longer sentence decided alone), each
checked with the rules alone (what changed) and with the default classifier (what a call hears).
"""

from __future__ import annotations

import pytest

from dialog.loader import load_flow, load_flow_text
from nlu.factory import build_classifier
from nlu.intent_space import candidates
from nlu.rules import RuleClassifier
from nlu.segment import clauses, is_negated, on_boundaries
from tests.conftest import FLOWS, MINIMAL_FLOW

TELECOM = FLOWS / "telecom_plan_upgrade.yaml"
REMINDER = FLOWS / "appointment_reminder_en.yaml"


@pytest.fixture(scope="module")
def telecom():
    return load_flow(TELECOM)


@pytest.fixture(scope="module")
def telecom_rules(telecom) -> RuleClassifier:
    return RuleClassifier.from_flow(telecom)


@pytest.fixture(scope="module")
def telecom_default(telecom):
    return build_classifier(telecom, "default")


def test_words_not_substrings() -> None:
    assert not on_boundaries("对面是个机器吧", 0, 1)  # 对 inside 对面
    assert on_boundaries("对我就是", 0, 1)
    assert not on_boundaries("不好意思", 1, 2)  # 好 inside 不好意思
    assert on_boundaries("不需要", 1, 3)


def test_clauses_split_at_punctuation_and_between_long_chunks() -> None:
    assert clauses("你说慢一点 我没跟上") == ["你说慢一点", "我没跟上"]
    assert clauses("不 需要") == ["不需要"]  # ASR spaces inside a word are not a clause end
    assert clauses("好的，不过我在开车") == ["好的", "不过我在开车"]
    assert clauses("no that's okay") == ["no that's okay"]


def test_negation_scope() -> None:
    assert is_negated("我不确认", 2)
    assert is_negated("我不太感兴趣", 3)  # 不 太 感兴趣
    assert not is_negated("我确认", 1)
    assert is_negated("i'm not interested", 8)
    assert is_negated("not really", 4)


@pytest.mark.parametrize(
    ("text", "node"),
    [("对面是个机器吧", "offer"), ("你说慢一点 我没跟上", "offer"), ("琢磨琢磨", "offer")],
)
def test_a_keyword_inside_a_longer_sentence_does_not_decide(telecom, telecom_rules, text, node) -> None:
    result = telecom_rules.classify(text, candidates(telecom, node))
    assert result.intent != "affirm", result


def test_negated_affirm_keyword_is_a_denial(telecom, telecom_rules) -> None:
    assert telecom_rules.classify("我不太感兴趣", candidates(telecom, "offer")).intent == "deny"
    assert telecom_rules.classify("我确认", candidates(telecom, "confirm")).intent == "affirm"


@pytest.mark.parametrize(
    ("text", "node", "intent"),
    [
        ("对面是个机器吧", "offer", "is_robot"),
        ("你说慢一点 我没跟上", "offer", "repeat"),
        ("琢磨琢磨", "offer", "think_about_it"),
    ],
)
def test_issue_cases_are_never_a_wrong_affirm(telecom, telecom_default, text, node, intent) -> None:
    # The model alone does not know these words well enough to be sure: asking again
    # (no_match) is the acceptable answer, a confident wrong intent is not.
    result = telecom_default.classify(text, candidates(telecom, node))
    assert result.intent in (intent, "no_match"), result


@pytest.mark.parametrize(
    ("text", "node", "intent"),
    [
        ("对 我就是", "greeting", "affirm"),
        ("好的 你说", "offer", "affirm"),
        ("sure go ahead", "offer", "affirm"),
    ],
)
def test_an_answer_word_first_still_decides(telecom, telecom_default, text, node, intent) -> None:
    result = telecom_default.classify(text, candidates(telecom, node))
    assert result.intent == intent, result


@pytest.mark.parametrize(
    ("text", "node", "intent"),
    [
        ("i can't make it that day unfortunately", "reminder", "deny"),
        ("put me through to a real person", "reminder", "ask_human"),
        ("uh huh go on", "greeting", "affirm"),
    ],
)
def test_english_paraphrases_from_the_issue(text, node, intent) -> None:
    flow = load_flow(REMINDER)
    result = build_classifier(flow, "default").classify(text, candidates(flow, node))
    assert result.intent in (intent, "no_match"), result  # never the wrong intent of the issue


def test_exact_only_keyword_counts_only_as_a_whole_clause() -> None:
    text = MINIMAL_FLOW.replace(
        "affirm: {examples: [好的, 可以], keywords: [好, 可以]}",
        "affirm: {examples: [好的, 可以], keywords: [可以], exact_keywords: [对]}",
    )
    loaded = load_flow_text(text)
    assert loaded.flow is not None, [p.format() for p in loaded.problems]
    assert loaded.flow.intents["affirm"].exact_keywords == ["对"]
    rules = RuleClassifier.from_flow(loaded.flow)
    assert rules.classify("对").intent == "affirm"
    assert rules.classify("对啊").intent == "affirm"  # trailing particle
    assert rules.classify("对了 我那个卡丢了").intent != "affirm"


def test_validator_checks_exact_keywords_like_keywords() -> None:
    text = MINIMAL_FLOW.replace(
        "deny: {examples: [不要, 不用了], keywords: [不要, 不用]}",
        "deny: {examples: [不要, 不用了], keywords: [不要, 不用], exact_keywords: [可以]}",
    )
    loaded = load_flow_text(text)
    messages = [p.message for p in loaded.problems]
    assert any("'可以'" in m and "also a keyword of" in m for m in messages), messages
