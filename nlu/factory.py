"""Build the intent classifier a flow runs with."""

from __future__ import annotations

from dialog.schema import Flow
from nlu.base import IntentClassifier
from nlu.rules import RuleClassifier

#: "default" is the best available combination; "rules" needs no model.
CLASSIFIER_KINDS = ("default", "rules")


def build_classifier(flow: Flow, kind: str = "default") -> IntentClassifier:
    """The classifier of ``kind`` for ``flow``."""
    if kind not in CLASSIFIER_KINDS:
        raise ValueError(f"unknown classifier kind {kind!r}; choose one of {CLASSIFIER_KINDS}")
    return RuleClassifier.from_flow(flow)
