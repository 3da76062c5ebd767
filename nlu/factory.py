"""Build the intent classifier a flow runs with."""

from __future__ import annotations

from pathlib import Path

from dialog.schema import FAQ_PREFIX, Flow
from nlu.background import BACKGROUND
from nlu.base import IntentClassifier
from nlu.rules import RuleClassifier

#: "default" = rules + the e5 model (nlu.hybrid); "model" = the e5 model alone; "rules" needs no model.
CLASSIFIER_KINDS = ("default", "rules", "model")


def flow_examples(flow: Flow) -> dict[str, list[str]]:
    """Texts the model learns each intent from: examples and keywords, KB questions and keywords."""
    examples = {
        name: [*definition.examples, *definition.keywords, *definition.exact_keywords]
        for name, definition in flow.intents.items()
    }
    for entry in flow.kb_entries:
        examples[FAQ_PREFIX + entry.id] = [*entry.questions, *entry.keywords, *entry.exact_keywords]
    return examples


def build_classifier(flow: Flow, kind: str = "default", data_dir: Path | None = None) -> IntentClassifier:
    """The classifier of ``kind`` for ``flow``; the model is loaded once per process."""
    if kind not in CLASSIFIER_KINDS:
        raise ValueError(f"unknown classifier kind {kind!r}; choose one of {CLASSIFIER_KINDS}")
    rules = RuleClassifier.from_flow(flow)
    if kind == "rules":
        return rules
    from nlu.e5.embedder import get_embedder
    from nlu.hybrid import HybridClassifier, ModelOnlyClassifier
    from nlu.model import EmbeddingIntentModel
    from nlu.paths import data_dir as default_data_dir

    base = data_dir or default_data_dir()
    model = EmbeddingIntentModel(
        get_embedder(base),
        flow_examples(flow),
        cache_dir=base / "cache" / "embeddings",
        background=BACKGROUND.get(flow.flow.language, ()),
    )
    if kind == "model":
        return ModelOnlyClassifier(rules, model, flow.settings.nlu_threshold)
    return HybridClassifier(rules, model, flow.settings.nlu_threshold)
