"""Near-syllable pinyin matching and the phonetic repair of transcripts (影响中心吗 → 影响征信吗)."""

from __future__ import annotations

import pytest

from dialog.loader import load_flow
from nlu.base import NO_MATCH
from nlu.evaluation import read_examples
from nlu.factory import build_classifier
from nlu.intent_space import candidates
from nlu.phonetic import near_spans, phonetic_tokens, split_syllable, syllable_cost
from nlu.rules import RuleClassifier
from tests.conftest import FLOWS

pytestmark = pytest.mark.models

DATA = FLOWS.parent / "tests" / "data"


@pytest.fixture(scope="module")
def flow():
    return load_flow(FLOWS / "credit_card_installment.yaml")


@pytest.fixture(scope="module")
def rules(flow) -> RuleClassifier:
    return RuleClassifier.from_flow(flow)


@pytest.fixture(scope="module")
def classifier(flow):
    return build_classifier(flow, "default")


def tokens(text: str) -> list[str]:
    return phonetic_tokens(text)


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("中", "征"),  # zhong / zheng: near finals
        ("些", "需"),  # xie / xu
        ("心", "信"),  # same syllable
        ("珍", "征"),  # zhen / zheng: folded
        ("资", "之"),  # z / zh
        ("出", "错"),  # chu / cuo
        ("息", "信"),  # xi / xin
    ],
)
def test_near_syllables_cost_at_most_half(heard: str, meant: str) -> None:
    (a,), (b,) = tokens(heard), tokens(meant)
    assert syllable_cost(a, b) <= 0.5


@pytest.mark.parametrize(("a", "b"), [("天", "班"), ("人", "工"), ("好", "码"), ("热", "忙")])
def test_unrelated_syllables_cost_one(a: str, b: str) -> None:
    assert syllable_cost(tokens(a)[0], tokens(b)[0]) == 1.0


def test_split_syllable_writes_u_umlaut_as_v() -> None:
    assert split_syllable("ju") == ("j", "v")  # 需 xu, folded to ju
    assert split_syllable("zong") == ("z", "ong")
    assert split_syllable("an") == ("", "an")


def test_near_spans_find_a_phrase_inside_a_sentence() -> None:
    text = tokens("影响中心吗")
    assert near_spans(tokens("征信"), text, 0.5) == [(2, 4, 0.5)]
    assert near_spans(tokens("征信"), text, 0.0) == []
    assert near_spans(tokens("手续费"), text, 1.0) == []


@pytest.mark.parametrize(
    ("heard", "repaired"),
    [
        ("影响中心吗", "影响征信吗"),
        ("上不上珍惜", "上不上征信"),
        ("守序妃", "手续费"),
        ("要几种技术", "要几种期数"),
        ("你打出电话了", "你打错电话了"),
    ],
)
def test_repairs_towards_the_flows_vocabulary(rules: RuleClassifier, heard: str, repaired: str) -> None:
    assert repaired in [text for text, _cost in rules.phonetic_repairs(heard)]


def test_no_repair_for_unrelated_sentences(rules: RuleClassifier) -> None:
    for text in ("你们银行几点下班", "今天怎么这么热", "我卡丢了怎么挂失", "外卖放门口就行", "hello there"):
        assert rules.phonetic_repairs(text) == []


def test_repair_respects_candidates(rules: RuleClassifier) -> None:
    assert rules.phonetic_repairs("影响中心吗", ["affirm", "deny"]) == []


@pytest.mark.parametrize(
    ("heard", "intent"),
    [("影响中心吗", "faq:credit_report"), ("上不上珍惜", "faq:credit_report"), ("守序妃", "faq:fee")],
)
def test_hybrid_understands_near_homophones(flow, classifier, heard: str, intent: str) -> None:
    result = classifier.classify(heard, candidates(flow))
    assert result.intent == intent
    assert result.source == "phonetic"
    assert result.confidence < 1.0  # a repair never counts as much as what was heard


def test_repair_adds_no_false_accept_out_of_domain(flow, classifier) -> None:
    """Every out-of-domain line the NLU rejects without repairs it still rejects with them."""
    allowed = candidates(flow)
    lines = [ex.text for ex in read_examples(DATA / "nlu_out_of_domain.tsv")]
    try:
        classifier.repair = False
        before = {text for text in lines if classifier.classify(text, allowed).intent == NO_MATCH}
        classifier.repair = True
        after = {text for text in lines if classifier.classify(text, allowed).intent == NO_MATCH}
    finally:
        classifier.repair = True
    assert before <= after
    assert len(after) >= 0.8 * len(lines)
