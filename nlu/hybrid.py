"""The default NLU: high-precision rules first, then rules and the embedding model together.

- an exact example or an operator regex decides at once (confidence ≥ 0.95);
- otherwise each intent scores ``knn + RULE_WEIGHT·rules + HEAD_WEIGHT·head`` and the best wins;
- its confidence maps the nearest-example cosine onto [0, 1] (e5 puts unrelated sentences at
  cosine ≈ 0.83–0.91 and paraphrases above 0.90), raised to the rule score when the rules agree;
  below the flow's threshold the answer is ``no_match``.
- the node's own answer-table row gets a small ranking prior (``NODE_PRIOR``) over globals and
  FAQs; the confidence is then calibrated (``CALIBRATION``, fitted on dev sets by
  ``bench/nlu_calibrate.py``), and an utterance nearer an out-of-domain background sentence
  (``nlu.background``) than to its best intent is ``no_match`` unless the rules decide;
- a transcript that sounds like the flow's vocabulary (影响中心吗 for 影响征信吗: near pinyin
  syllables, see ``RuleClassifier.phonetic_repairs``) is also classified repaired; the repair wins
  when its confidence, less ``REPAIR_PENALTY`` (and ``NEAR_PENALTY`` per near syllable), is higher.
Weights and the cosine range were chosen on the development set and checked on held-out sets
(BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from nlu.base import NO_MATCH, NluResult
from nlu.entities import extract_entities
from nlu.model import EmbeddingIntentModel
from nlu.normalize import normalize
from nlu.rules import RuleClassifier

RULE_WEIGHT = 0.3
HEAD_WEIGHT = 0.1
COSINE_FLOOR = 0.86
COSINE_CEILING = 0.96
MODEL_PLAUSIBLE = 0.25
REPAIR_PENALTY = 0.1
NEAR_PENALTY = 0.2
#: Ranking bonus of the intents the current node's row handles over globals and FAQs.
NODE_PRIOR = 0.05
#: Logistic weights of (confidence, margin, head, rules) and the bias; see :func:`calibrated`.
CALIBRATION: tuple[float, float, float, float, float] | None = (4.237, 3.965, 3.415, 5.193, -6.805)
#: An utterance nearer a background sentence (nlu.background) than its best intent's examples by
#: more than this is out of domain, unless the rules decide; None disables the check.
BACKGROUND_MARGIN: float | None = -0.03


def calibrated(features: Sequence[float]) -> float:
    """P(the best intent is right) from :meth:`HybridClassifier.evidence` features (logistic), capped
    by the uncalibrated confidence.

    ``CALIBRATION`` is fitted by ``bench/nlu_calibrate.py`` on the dev sets (never the blind ones);
    None keeps the uncalibrated confidence.
    """
    if CALIBRATION is None:
        return float(features[0])
    *weights, bias = CALIBRATION
    logit = bias + sum(w * x for w, x in zip(weights, features, strict=True))
    # Calibration only ever lowers the confidence: n-best and phonetic repairs compare
    # confidences on the uncalibrated scale, which must not be inflated.
    return min(float(features[0]), 1.0 / (1.0 + math.exp(-logit)))


def cosine_confidence(cosine: float) -> float:
    """Map a nearest-example cosine onto a confidence in [0, 1]."""
    return min(max((cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR), 0.0), 1.0)


class HybridClassifier:
    """Rules + multilingual-e5-small, the classifier flows run with by default."""

    def __init__(
        self,
        rules: RuleClassifier,
        model: EmbeddingIntentModel,
        threshold: float = 0.5,
        *,
        repair: bool = True,
    ) -> None:
        self.rules = rules
        self.model = model
        self.threshold = threshold
        self.repair = repair

    def classify(self, text: str, candidates: Sequence[str] | None = None) -> NluResult:
        """Best candidate intent, or ``no_match`` below the threshold (phonetic repairs included)."""
        if self.repair:
            # The utterance and its repairs in one encoder batch: one forward pass, not two.
            self.prime([text], candidates)
        result = self._classify(text, candidates)
        if not self.repair or result.source in ("example", "pattern") or not result.normalized:
            return result
        repairs = self.rules.phonetic_repairs(result.normalized, candidates)
        if not repairs:
            return result
        self.model.prime([repaired for repaired, _cost in repairs])
        best = result
        for repaired, cost in repairs:
            # A repair must also be nearer the flow than the background, rules or not (哈哈哈笑死我了
            # sounds like 笑是我了 but is still laughter).
            alt = self._classify(repaired, candidates, strict=True)
            if alt.intent == NO_MATCH:
                continue
            if (
                result.source == "background"
                and self.rules.scores(repaired, candidates)[1].get(alt.intent, 0.0) < self.threshold
            ):
                continue  # heard as out of domain: only a repair the rules decide may overrule that
            confidence = round(alt.confidence - REPAIR_PENALTY - NEAR_PENALTY * cost, 4)
            if confidence >= self.threshold and confidence > best.confidence:
                best = NluResult(
                    alt.intent, confidence, result.normalized, "phonetic", alt.entities, alt.alternatives
                )
        return best

    def prime(self, texts: Sequence[str], candidates: Sequence[str] | None = None) -> None:
        """Embed what classifying ``texts`` will need, repairs included, in one batch (n-best)."""
        batch: list[str] = []
        for text in texts:
            normalized, _scores, source = self.rules.scores(text, candidates)
            if not normalized or source in ("example", "pattern"):  # decided without the model
                continue
            batch.append(normalized)
            if self.repair:
                batch += [repaired for repaired, _cost in self.rules.phonetic_repairs(normalized, candidates)]
        self.model.prime(batch)

    def _classify(
        self, text: str, candidates: Sequence[str] | None = None, *, strict: bool = False
    ) -> NluResult:
        normalized, rule_scores, source = self.rules.scores(text, candidates)
        if not normalized:
            return NluResult(NO_MATCH, 0.0, normalized)
        entities = extract_entities(normalized)
        if source in ("example", "pattern"):
            intent = max(rule_scores, key=rule_scores.__getitem__)
            return NluResult(intent, rule_scores[intent], normalized, source, entities)
        evidence = self.evidence(normalized, rule_scores, candidates)
        if evidence is None:
            return NluResult(NO_MATCH, 0.0, normalized)
        ranked, features = evidence
        intent = ranked[0][0]
        confidence = calibrated(features)
        alternatives = tuple((name, round(score, 4)) for name, score in ranked[:3])
        decided_by_rules = features[3] >= self.threshold and not strict
        if not decided_by_rules and self._background_wins(normalized, candidates, intent):
            # Out of domain; no phonetic repair may turn it into an intent either.
            low = round(min(confidence, self.threshold - 0.01), 4)
            return NluResult(NO_MATCH, low, normalized, "background", entities, alternatives)
        if confidence < self.threshold:
            return NluResult(NO_MATCH, round(confidence, 4), normalized, "none", entities, alternatives)
        return NluResult(intent, round(confidence, 4), normalized, "model", entities, alternatives)

    def _background_wins(self, normalized: str, candidates: Sequence[str] | None, intent: str) -> bool:
        """True when the utterance is nearer a background sentence than ``intent``'s examples."""
        if BACKGROUND_MARGIN is None:
            return False
        knn, _head = self.model.scores(normalized, [intent])
        return self.model.background_similarity(normalized) > knn.get(intent, 0.0) + BACKGROUND_MARGIN

    def evidence(
        self, normalized: str, rule_scores: Mapping[str, float], candidates: Sequence[str] | None
    ) -> tuple[list[tuple[str, float]], tuple[float, float, float, float]] | None:
        """Candidates ranked by combined score, and the best one's calibration features.

        Features: the uncalibrated confidence (nearest-example cosine mapped to [0, 1], raised to
        the rule score when rules decide), the combined-score margin over the runner-up, the head
        probability and the rule score.
        """
        knn, head = self.model.scores(normalized, candidates)
        if not knn:
            return None
        row: frozenset[str] = getattr(candidates, "row", frozenset())  # intent_space.Candidates
        combined = {
            intent: cosine
            + RULE_WEIGHT * rule_scores.get(intent, 0.0)
            + HEAD_WEIGHT * head.get(intent, 0.0)
            + (NODE_PRIOR if intent in row else 0.0)
            for intent, cosine in knn.items()
        }
        ranked = sorted(combined.items(), key=lambda item: item[1], reverse=True)
        intent = ranked[0][0]
        confidence = cosine_confidence(knn[intent])
        rule_score = rule_scores.get(intent, 0.0)
        # Rules vouch for the intent only where the model finds it at least plausible: a keyword
        # alone inside an unrelated sentence (世界杯在哪里办) must not make it certain.
        if rule_score >= self.threshold and confidence >= MODEL_PLAUSIBLE:
            confidence = max(confidence, rule_score)
        margin = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else 1.0
        return ranked, (confidence, margin, head.get(intent, 0.0), rule_score)


class ModelOnlyClassifier(HybridClassifier):
    """The embedding model without rules (for measuring what each layer brings)."""

    def prime(self, texts: Sequence[str], candidates: Sequence[str] | None = None) -> None:
        """Embed ``texts`` in one batch."""
        self.model.prime([normalize(text) for text in texts])

    def classify(self, text: str, candidates: Sequence[str] | None = None) -> NluResult:
        """Best candidate by nearest example and head, normalisation kept."""
        normalized = normalize(text)
        knn, head = self.model.scores(normalized, candidates)
        if not knn:
            return NluResult(NO_MATCH, 0.0, normalized)
        intent = max(knn, key=lambda name: knn[name] + HEAD_WEIGHT * head.get(name, 0.0))
        confidence = cosine_confidence(knn[intent])
        if confidence < self.threshold:
            return NluResult(NO_MATCH, round(confidence, 4), normalized)
        return NluResult(intent, round(confidence, 4), normalized, "model")
