"""Grouping the inbox: utterances that say the same thing, so the operator decides once per group.

Greedy clustering by cosine similarity of the e5 embeddings (the project's encoder, behind its on-disk
embedding cache): the most frequent texts seed groups, and each text joins the first group whose seed
it is close enough to. Without the model (``WAIHU_CONSOLE_NLU=rules``, tests of the fast tier) the
character-feature overlap the rules use stands in.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nlu.normalize import normalize
from nlu.rules import dice, features

if TYPE_CHECKING:
    from nlu.model import Embedder

log = logging.getLogger(__name__)

#: Cosine (multilingual-e5-small, normalised texts) at or above which two utterances share a group.
#: Measured on call-like answers: paraphrases of one answer at 0.91-0.99 (我在开车呢/我正在开车 0.96,
#: 明天再说吧/改天再聊 0.93, "let me talk to a human"/"put me through to a real person" 0.91), different
#: answers up to 0.90 (你说慢一点/开车呢不方便): e5's similarities all sit high.
GROUP_COSINE = 0.91
#: Without the model: character-feature Dice at or above this.
GROUP_DICE = 0.5


@dataclass(frozen=True)
class Utterance:
    """One inbox item as the grouping sees it."""

    id: int
    text: str
    guess: str = ""


@dataclass
class Group:
    """Similar utterances; ``representative`` is the most frequent text (first seen on a tie)."""

    representative: Utterance
    members: list[Utterance] = field(default_factory=list)
    #: The most common NLU guess of the members (empty: none guessed).
    top_guess: str = ""


def _similarity(
    texts: Sequence[str], embedder: Embedder | None
) -> tuple[np.ndarray | None, list[set[str]], float]:
    """Embeddings (or None) and character features of ``texts``, and the threshold that applies."""
    vectors = None
    if embedder is not None and texts:
        try:
            vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
        except (OSError, RuntimeError, ValueError, ImportError) as exc:  # no model here: fall back
            log.warning("inbox grouping without embeddings: %s", exc)
    return vectors, [features(text) for text in texts], GROUP_COSINE if vectors is not None else GROUP_DICE


def group_utterances(items: Sequence[Utterance], embedder: Embedder | None = None) -> list[Group]:
    """Groups of ``items``, largest first; identical texts (after normalisation) always share one."""
    by_text: dict[str, list[Utterance]] = {}
    for item in items:
        by_text.setdefault(normalize(item.text) or item.text, []).append(item)
    # Frequent texts first: they become the seeds (and so the representatives).
    texts = sorted(by_text, key=lambda text: -len(by_text[text]))
    vectors, grams, limit = _similarity(texts, embedder)
    seeds: list[int] = []
    members: dict[int, list[int]] = {}
    for index in range(len(texts)):
        best, best_score = None, limit
        for seed in seeds:
            if vectors is not None:
                score = float(vectors[index] @ vectors[seed])
            else:
                score = dice(grams[index], grams[seed])
            if score >= best_score:
                best, best_score = seed, score
        if best is None:
            seeds.append(index)
            members[index] = [index]
        else:
            members[best].append(index)
    groups = []
    for seed in seeds:
        utterances = [item for index in members[seed] for item in by_text[texts[index]]]
        guesses = Counter(item.guess for item in utterances if item.guess)
        top = guesses.most_common(1)[0][0] if guesses else ""
        groups.append(Group(by_text[texts[seed]][0], utterances, top))
    groups.sort(key=lambda group: -len(group.members))
    return groups
