"""What every intent classifier returns, and the interface the conversation loop relies on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

NO_MATCH = "no_match"


@dataclass(frozen=True)
class NluResult:
    """The best intent for an utterance, with a confidence in [0, 1]."""

    intent: str
    confidence: float
    normalized: str = ""
    source: str = "none"
    entities: dict[str, str] = field(default_factory=dict)
    alternatives: tuple[tuple[str, float], ...] = ()


class IntentClassifier(Protocol):
    """Picks one of ``candidates`` (or ``no_match``) for an utterance."""

    def classify(self, text: str, candidates: Sequence[str] | None = None) -> NluResult:
        """Classify ``text`` among ``candidates`` (all known intents when None)."""
        ...
