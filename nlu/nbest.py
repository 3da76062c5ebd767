"""Intent from an ASR n-best list: the hypothesis whose NLU confidence and ASR score agree best.

Whisper-base often ranks a near-miss first (有急整期术) and the right words second or third
(有几种期数). Each distinct hypothesis is classified; the winner maximises
``confidence + ASR_WEIGHT · (logprob − best logprob)``, where ``logprob`` is the decoder's mean
log-probability per token (``asr.base.Transcript.alternatives``). Hypotheses the NLU finds no
intent in do not compete, nor do later hypotheses below ``ALTERNATIVE_FLOOR``: among five
readings of unrelated speech one often looks half-like an intent (今天这么热 → busy at 0.50), and
measured on the out-of-domain clips that floor keeps n-best from accepting more of them than the
first transcript alone. When nothing competes, the first hypothesis's result is returned.
"""

from __future__ import annotations

from collections.abc import Sequence

from nlu.base import NO_MATCH, IntentClassifier, NluResult
from nlu.normalize import normalize

#: NLU confidence traded per unit of ASR log-prob per token below the best hypothesis.
ASR_WEIGHT = 0.5
#: Confidence a hypothesis other than the first needs to compete.
ALTERNATIVE_FLOOR = 0.75
#: A first reading this confident is kept without classifying the others (their embeddings cost
#: ~40 ms on one thread): a later reading would need a still higher confidence plus the ASR score
#: gap to win, i.e. an exact example against a near-exact first reading.
DECISIVE = 0.95
#: Hypotheses classified at most (the decoder's n-best is usually 5).
MAX_HYPOTHESES = 5


def classify_nbest(
    classifier: IntentClassifier,
    text: str,
    alternatives: Sequence[tuple[str, float]] = (),
    candidates: Sequence[str] | None = None,
    *,
    asr_weight: float = ASR_WEIGHT,
    floor: float = ALTERNATIVE_FLOOR,
) -> NluResult:
    """Best intent across ``alternatives`` ((text, log-prob) pairs, best first; ``text`` alone if empty)."""
    hypotheses: dict[str, float] = {}
    for hypothesis, score in alternatives[:MAX_HYPOTHESES]:
        key = normalize(hypothesis)
        if key and key not in hypotheses:
            hypotheses[key] = score
    if len(hypotheses) <= 1:
        return classifier.classify(text, candidates)
    readings = list(hypotheses)
    first = classifier.classify(readings[0], candidates)
    if first.intent != NO_MATCH and first.confidence >= DECISIVE:
        return first  # no later reading can outscore it: skip their embeddings
    prime = getattr(classifier, "prime", None)
    if callable(prime):  # one batched embedding for the other readings (HybridClassifier)
        prime(readings[1:], candidates)
    top = max(hypotheses.values())
    best: NluResult | None = None
    best_score = float("-inf")
    if first.intent != NO_MATCH:
        best, best_score = first, first.confidence + asr_weight * (hypotheses[readings[0]] - top)
    for hypothesis in readings[1:]:
        result = classifier.classify(hypothesis, candidates)
        if result.intent == NO_MATCH or result.confidence < floor:
            continue
        combined = result.confidence + asr_weight * (hypotheses[hypothesis] - top)
        if combined > best_score:
            best, best_score = result, combined
    return best or first
