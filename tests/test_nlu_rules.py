"""Rule NLU: normalisation of ASR output, negation, candidates, thresholds."""

from __future__ import annotations

import pytest

from dialog.loader import load_flow
from nlu.intent_space import candidates
from nlu.normalize import normalize
from nlu.rules import RuleClassifier
from tests.conftest import FLOWS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("好 的", "好的"),
        ("嗯 是 我", "是我"),
        ("那个 能分几期啊", "能分几期啊"),
        ("额度是多少", "额度是多少"),
        ("额 提前 还款", "提前还款"),
        ("额 度", "额度"),
        ("沒這個打算", "没这个打算"),
        ("ＯＫ，ｓｕｒｅ！", "ok sure"),
        ("Um, I'm busy.", "i'm busy"),
        ("嗯", "嗯"),
        ("  ", ""),
        ("我要 app 办理", "我要 app 办理"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    assert normalize(normalize(raw)) == normalize(raw)


@pytest.fixture(scope="module")
def classifier() -> RuleClassifier:
    return RuleClassifier.from_flow(load_flow(FLOWS / "credit_card_installment.yaml"))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("不需要", "deny"),
        ("需要", "affirm"),
        ("不是我", "wrong_person"),
        ("是我", "affirm"),
        ("我不感兴趣", "deny"),
        ("人工智能吧", "is_robot"),
        ("转人工", "ask_human"),
        ("把我的号码去掉", "do_not_call"),
        ("你们怎么有我的号码", "ask_number_source"),
        ("不要再打电话来了", "do_not_call"),
        ("i know", "no_match"),
        ("no", "deny"),
    ],
)
def test_longest_keyword_wins(classifier: RuleClassifier, text: str, intent: str) -> None:
    assert classifier.classify(text).intent == intent


def test_candidates_restrict_the_answer(classifier: RuleClassifier) -> None:
    flow = load_flow(FLOWS / "credit_card_installment.yaml")
    at_greeting = candidates(flow, "greeting")
    assert "affirm" in at_greeting and "faq:fee" in at_greeting and "busy" in at_greeting
    assert classifier.classify("手续费多少", ["affirm", "deny"]).intent == "no_match"
    assert classifier.classify("手续费多少", at_greeting).intent == "faq:fee"
    assert set(candidates(flow)) >= {"affirm", "deny", "repeat", "faq:amount"}


def test_exact_example_is_certain_and_nonsense_is_no_match(classifier: RuleClassifier) -> None:
    exact = classifier.classify("没问题")
    assert (exact.intent, exact.confidence, exact.source) == ("affirm", 1.0, "example")
    nonsense = classifier.classify("蓝色的大象在跳舞")
    assert nonsense.intent == "no_match" and nonsense.confidence < 0.5


def test_fuzzy_layer_catches_paraphrase_without_keyword(classifier: RuleClassifier) -> None:
    result = classifier.classify("最长能分多久呢")
    assert result.intent == "faq:periods"


def test_pinyin_folding_matches_near_homophones() -> None:
    from nlu.phonetic import find_phonetic, fold_syllable, phonetic_key

    assert fold_syllable("zhang") == fold_syllable("zan") == "zan"
    assert fold_syllable("xi") == fold_syllable("qi")
    assert find_phonetic(phonetic_key("征信"), phonetic_key("会影响正信吗")) == [(3, 5)]
    assert find_phonetic(phonetic_key("利息"), phonetic_key("今天天气")) == []


def test_single_character_keywords_do_not_match_by_sound(classifier: RuleClassifier) -> None:
    # 行 (xing → jin) must not fire on 今 (jin).
    assert classifier.classify("今天").intent == "no_match"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("十二", 12),
        ("二十四", 24),
        ("一万二", 12000),
        ("三千五", 3500),
        ("两百零五", 205),
        ("1.2万", 12000),
        ("2万5", 25000),
        ("一千零二十", 1020),
    ],
)
def test_chinese_numerals(text: str, value: int) -> None:
    from nlu.entities import chinese_to_number

    assert chinese_to_number(text) == value


def test_entities_reach_the_nlu_result(classifier: RuleClassifier) -> None:
    from nlu.entities import extract_entities

    assert extract_entities("我要分二十四期 一共三千块") == {"periods": "24", "amount": "3000"}
    assert extract_entities("can i split it over twelve months") == {"periods": "12"}
    assert classifier.classify("能分十二期吗").entities == {"periods": "12"}
