"""Accuracy of a classifier on a labelled file (``intent<TAB>text[<TAB>node]`` lines, ``#`` comments).

The optional third column names the node at which the utterance would be heard: ``evaluate`` with
``node_candidates`` then lets only that node's intents compete, as in a real call (``--per-node``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlu.base import IntentClassifier


class DataFileError(ValueError):
    """A malformed line in an evaluation file."""


@dataclass(frozen=True)
class Example:
    """One labelled utterance and where it came from."""

    intent: str
    text: str
    line: int
    node: str | None = None


def read_examples(path: Path) -> list[Example]:
    """Parse an evaluation file; raise :class:`DataFileError` naming the first bad line."""
    examples: list[Example] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        intent, sep, rest = raw.partition("\t")
        text, _sep, node = rest.partition("\t")
        if not sep or not intent.strip() or not text.strip() or "\t" in node:
            raise DataFileError(f"{path}:{number}: expected 'intent<TAB>text[<TAB>node]', got {raw!r}")
        examples.append(Example(intent.strip(), text.strip(), number, node.strip() or None))
    return examples


@dataclass
class EvalReport:
    """Per-intent precision/recall, confusions and overall accuracy."""

    total: int = 0
    correct: int = 0
    gold: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    hits: Counter[str] = field(default_factory=Counter)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[tuple[Example, str, float]] = field(default_factory=list)
    #: (predicted intent, confidence, correct) of every utterance, for calibration.
    outcomes: list[tuple[str, float, bool]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of utterances classified correctly."""
        return self.correct / self.total if self.total else 0.0

    def precision(self, intent: str) -> float:
        """Of utterances predicted as ``intent``, the share that were."""
        return self.hits[intent] / self.predicted[intent] if self.predicted[intent] else 0.0

    def recall(self, intent: str) -> float:
        """Of utterances labelled ``intent``, the share found."""
        return self.hits[intent] / self.gold[intent] if self.gold[intent] else 0.0

    def accuracy_line(self) -> str:
        """The contract last line: ``accuracy: 0.953 (148/155)``."""
        return f"accuracy: {self.accuracy:.3f} ({self.correct}/{self.total})"

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        intents = sorted(set(self.gold) | set(self.predicted))
        return {
            "accuracy": round(self.accuracy, 4),
            "correct": self.correct,
            "total": self.total,
            "per_intent": {
                intent: {
                    "precision": round(self.precision(intent), 4),
                    "recall": round(self.recall(intent), 4),
                    "support": self.gold[intent],
                }
                for intent in intents
            },
            "confusions": [
                {"gold": gold, "predicted": pred, "count": count}
                for (gold, pred), count in self.confusions.most_common()
            ],
            "errors": [
                {"line": ex.line, "text": ex.text, "gold": ex.intent, "predicted": pred, "confidence": conf}
                for ex, pred, conf in self.errors
            ],
        }


def evaluate(
    classifier: IntentClassifier,
    examples: Sequence[Example],
    candidates: Sequence[str] | None = None,
    progress: Callable[[], None] | None = None,
    *,
    node_candidates: Callable[[str], Sequence[str]] | None = None,
) -> EvalReport:
    """Classify every example and tally the report.

    ``node_candidates``: when given, an example with a node is classified among that node's
    intents (``node_candidates(node)``) instead of ``candidates``.
    """
    report = EvalReport()
    for example in examples:
        allowed = candidates
        if node_candidates is not None and example.node:
            allowed = node_candidates(example.node)
        result = classifier.classify(example.text, allowed)
        report.total += 1
        report.gold[example.intent] += 1
        report.predicted[result.intent] += 1
        report.outcomes.append((result.intent, result.confidence, result.intent == example.intent))
        if result.intent == example.intent:
            report.correct += 1
            report.hits[example.intent] += 1
        else:
            report.confusions[(example.intent, result.intent)] += 1
            report.errors.append((example, result.intent, result.confidence))
        if progress:
            progress()
    return report
