"""The default NLU (rules + e5 model), its embedding cache, and knowledge-base retrieval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dialog.loader import load_flow
from knowledge_base.retrieval import SemanticRetriever
from knowledge_base.store import KnowledgeBase
from nlu.e5.embedder import get_embedder
from nlu.factory import build_classifier
from nlu.intent_space import candidates
from nlu.model import EmbeddingIntentModel, train_softmax_head
from nlu.paths import data_dir
from tests.conftest import FLOWS


@pytest.fixture(scope="module")
def flow():
    return load_flow(FLOWS / "credit_card_installment.yaml")


@pytest.fixture(scope="module")
def classifier(flow):
    return build_classifier(flow, "default")


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self) -> None:
        self.inner = get_embedder(data_dir())
        self.count = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.count += len(texts)
        return self.inner.embed(texts)


def test_example_embeddings_are_cached_by_content(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    examples = {"a": ["手续费多少", "利息怎么算"], "b": ["能分几期"]}
    EmbeddingIntentModel(embedder, examples, cache_dir=tmp_path)
    assert embedder.count == 3 and len(list(tmp_path.glob("*.npy"))) == 1
    EmbeddingIntentModel(embedder, examples, cache_dir=tmp_path)
    assert embedder.count == 3  # loaded from the cache
    EmbeddingIntentModel(embedder, {**examples, "b": ["能分几期", "最长多久"]}, cache_dir=tmp_path)
    assert embedder.count == 7 and len(list(tmp_path.glob("*.npy"))) == 2  # a changed flow is embedded anew


def test_softmax_head_separates_training_points() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.arange(30) % 3
    weights, bias = train_softmax_head(vectors, labels, 3)
    predicted = (vectors @ weights + bias / 20).argmax(axis=1)
    assert (predicted == labels).mean() == 1.0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我这边暂时用不上这个", "deny"),
        ("这个事儿会不会在我的信用记录上留下痕迹", "faq:credit_report"),
        ("I would rather not, thanks", "deny"),
        ("你是哪个单位打过来的", "ask_identity"),
    ],
)
def test_model_understands_paraphrases(classifier, flow, text: str, intent: str) -> None:
    result = classifier.classify(text, candidates(flow, "offer"))
    assert result.intent == intent, result


@pytest.mark.parametrize("text", ["我家猫今天生病了", "周末一起去爬山吧", "the weather is lovely today"])
def test_out_of_domain_is_no_match(classifier, flow, text: str) -> None:
    assert classifier.classify(text, candidates(flow, "offer")).intent == "no_match"


def test_candidates_restrict_the_model(classifier) -> None:
    result = classifier.classify("手续费怎么收", ["affirm", "deny"])
    assert result.intent in ("affirm", "deny", "no_match") and result.intent != "faq:fee"


def test_kb_semantic_retrieval(flow) -> None:
    kb = KnowledgeBase.from_flow(flow)
    retriever = SemanticRetriever(kb, get_embedder(data_dir()))
    hits = retriever.search("分期以后中途还能一次性结清吗", top_k=3)
    assert hits[0].entry_id == "early_repayment" and hits[0].intent == "faq:early_repayment"
    assert hits[0].score > hits[1].score and "提前" in hits[0].answer
    assert len(kb) == 6 and kb.get("fee") is not None
