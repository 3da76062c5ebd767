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
    prime = getattr(classifier, "prime", None)
    if callable(prime):  # one batched embedding for all hypotheses (HybridClassifier)
        prime(list(hypotheses), candidates)
    top = max(hypotheses.values())
    first: NluResult | None = None
    best: NluResult | None = None
    best_score = float("-inf")
    for hypothesis, score in hypotheses.items():
        result = classifier.classify(hypothesis, candidates)
        if first is None:
            first = result
        elif result.confidence < floor:
            continue
        if result.intent == NO_MATCH:
            continue
        combined = result.confidence + asr_weight * (score - top)
        if combined > best_score:
            best, best_score = result, combined
    assert first is not None
    return best or first
