"""Intent from an ASR n-best list (nlu.nbest) and through Conversation.understand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dialog.loader import load_flow
from nlu.base import NO_MATCH, NluResult
from nlu.nbest import classify_nbest
from tests.conftest import FLOWS
from waihu.conversation import Conversation

pytestmark = pytest.mark.models


class TableClassifier:
    """Fixed (intent, confidence) per text; records what it was asked."""

    def __init__(self, table: dict[str, tuple[str, float]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def classify(self, text: str, candidates: Sequence[str] | None = None) -> NluResult:
        self.asked.append(text)
        intent, confidence = self.table.get(text, (NO_MATCH, 0.0))
        return NluResult(intent, confidence, text)


def test_single_hypothesis_is_plain_classification() -> None:
    classifier = TableClassifier({"好": ("affirm", 1.0)})
    assert classify_nbest(classifier, "好", ()).intent == "affirm"
    assert classify_nbest(classifier, "好", [("好", -0.1), ("好。", -0.3)]).intent == "affirm"
    assert classifier.asked == ["好", "好"]  # 好。 normalises to 好: classified once


def test_a_later_hypothesis_rescues_a_no_match() -> None:
    classifier = TableClassifier({"要几种期数": ("faq:periods", 0.9)})
    result = classify_nbest(classifier, "要几种技术", [("要几种技术", -0.38), ("要几种期数", -0.62)])
    assert result.intent == "faq:periods"


def test_later_hypotheses_need_the_floor() -> None:
    classifier = TableClassifier({"今天这么热": ("busy", 0.5)})
    result = classify_nbest(classifier, "今天怎么这么热", [("今天怎么这么热", -0.3), ("今天这么热", -0.8)])
    assert result.intent == NO_MATCH


def test_asr_score_weighs_against_nlu_confidence() -> None:
    table = {"是吗": ("affirm", 0.80), "再忙": ("busy", 0.95)}
    close = [("是吗", -1.0), ("再忙", -1.1)]
    far = [("是吗", -1.0), ("再忙", -2.0)]
    assert classify_nbest(TableClassifier(table), "是吗", close).intent == "busy"
    assert classify_nbest(TableClassifier(table), "是吗", far).intent == "affirm"


def test_conversation_understand_uses_alternatives() -> None:
    flow = load_flow(FLOWS / "credit_card_installment.yaml")
    conversation = Conversation(flow, variables={"name": "张先生", "amount": "12000"})  # rules only
    conversation.start()
    assert conversation.understand("山崩").intent == NO_MATCH
    result = conversation.understand("山崩", [("山崩", -1.1), ("是的", -1.3)])
    assert result.intent == "affirm"
