"""NLU lint for ``waihu flow validate``: what will make a flow's intents generalise badly.

Three warnings, each with the YAML path it is about:
- two intents (or FAQs) whose examples are near duplicates by embedding: the model cannot tell
  them apart, and whichever the callee's words lean to wins by chance;
- a short Mandarin keyword that is part of many common words (对 → 对面/对于/对不起): rules match
  it as a whole word only, but ASR and segmentation slips still let it fire; ``exact_keywords``
  keeps it to whole clauses;
- an intent with too few examples to generalise (keywords do not count: they teach the model
  single words, not how people answer).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dialog.problems import FlowProblem
from dialog.schema import FAQ_PREFIX, Flow
from nlu.normalize import is_cjk, normalize
from nlu.rules import dice, features

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from nlu.model import Embedder

log = logging.getLogger(__name__)

Finding = tuple[tuple[str | int, ...], str]

#: Cosine (multilingual-e5-small) above which two examples of different intents are near
#: duplicates: paraphrases sit at 0.90-0.95, the same words with a particle more at ≥ 0.97.
NEAR_DUPLICATE_COSINE = 0.97
#: Without the model: character-feature Dice at or above this.
NEAR_DUPLICATE_DICE = 0.9
#: Fewer examples (or FAQ questions) than this is too few to generalise.
MIN_EXAMPLES = 5
#: A keyword is a "common substring" when at least this many frequent words contain it.
COMMON_WORDS = 3
#: jieba dictionary frequency a word needs to count as common.
COMMON_FREQ = 3000


def _examples(flow: Flow) -> list[tuple[str, tuple[str | int, ...], str]]:
    """(owner, YAML path, normalised text) of every example and FAQ question."""
    out: list[tuple[str, tuple[str | int, ...], str]] = []
    for name, definition in flow.intents.items():
        out += [
            (name, ("intents", name, "examples", i), normalize(t)) for i, t in enumerate(definition.examples)
        ]
    for index, entry in enumerate(flow.kb_entries):
        out += [
            (FAQ_PREFIX + entry.id, ("knowledge_base", index, "questions", i), normalize(t))
            for i, t in enumerate(entry.questions)
        ]
    return [item for item in out if item[2]]


def near_duplicates(flow: Flow, embedder: Embedder | None = None) -> Iterator[Finding]:
    """Pairs of examples of different intents that say the same thing."""
    items = _examples(flow)
    if not items:
        return
    vectors = None
    if embedder is not None:
        try:
            vectors = np.asarray(embedder.embed([text for _o, _p, text in items]), dtype=np.float32)
        except (OSError, RuntimeError, ValueError, ImportError) as exc:  # no model here: fall back
            log.warning("NLU lint without embeddings: %s", exc)
    grams = [features(text) for _o, _p, text in items]
    seen: set[tuple[str, str]] = set()
    for i, j in itertools.combinations(range(len(items)), 2):
        (owner_a, _path_a, text_a), (owner_b, path_b, text_b) = items[i], items[j]
        if owner_a == owner_b or (owner_a, owner_b) in seen:
            continue
        if vectors is not None:
            similarity, limit, how = float(vectors[i] @ vectors[j]), NEAR_DUPLICATE_COSINE, "cosine"
        else:
            similarity, limit, how = dice(grams[i], grams[j]), NEAR_DUPLICATE_DICE, "overlap"
        if text_a == text_b or similarity >= limit:
            seen.add((owner_a, owner_b))
            yield (
                path_b,
                f"example {text_b!r} of {owner_b} is a near duplicate of {text_a!r} of {owner_a} "
                f"({how} {similarity:.2f}): the model cannot tell the two apart",
            )


@lru_cache(maxsize=1)
def _common_words() -> Mapping[str, int]:
    """jieba's dictionary words of 2+ characters that are frequent enough to be common."""
    from nlu.segment import _jieba

    frequencies: Mapping[str, int] = _jieba().dt.FREQ
    return {word: freq for word, freq in frequencies.items() if freq >= COMMON_FREQ and len(word) >= 2}


def _containing(keyword: str, related: set[str]) -> list[str]:
    """Common words that contain ``keyword`` and are not themselves keywords or examples of its intent."""
    found = [
        (freq, word)
        for word, freq in _common_words().items()
        if keyword in word and word != keyword and not any(word in text for text in related)
    ]
    return [word for _freq, word in sorted(found, reverse=True)]


def ambiguous_keywords(flow: Flow) -> Iterator[Finding]:
    """Short Mandarin keywords that are part of many common words."""
    sources: list[tuple[tuple[str | int, ...], Sequence[str], Sequence[str]]] = [
        (("intents", name), d.keywords, [*d.examples, *d.keywords]) for name, d in flow.intents.items()
    ]
    sources += [
        (("knowledge_base", i), e.keywords, [*e.questions, *e.keywords])
        for i, e in enumerate(flow.kb_entries)
    ]
    for path, keywords, texts in sources:
        related = {normalize(text) for text in texts}
        for index, keyword in enumerate(keywords):
            word = normalize(keyword)
            if not 1 <= len(word) <= 2 or not all(is_cjk(ch) for ch in word):
                continue
            words = _containing(word, related)
            if len(words) >= COMMON_WORDS:
                yield (
                    (*path, "keywords", index),
                    f"keyword {keyword!r} is part of common words ({', '.join(words[:3])}): it matches "
                    "whole words only, but move it to exact_keywords if it should count only alone",
                )


def few_examples(flow: Flow) -> Iterator[Finding]:
    """Intents and FAQs with fewer than :data:`MIN_EXAMPLES` examples."""
    for name, definition in flow.intents.items():
        if len(definition.examples) < MIN_EXAMPLES:
            yield (
                ("intents", name, "examples"),
                f"intent {name} has {len(definition.examples)} example(s); give at least {MIN_EXAMPLES} "
                "different ways people say it",
            )
    for index, entry in enumerate(flow.kb_entries):
        if len(entry.questions) < MIN_EXAMPLES:
            yield (
                ("knowledge_base", index, "questions"),
                f"FAQ {entry.id} has {len(entry.questions)} question(s); give at least {MIN_EXAMPLES} "
                "different ways people ask it",
            )


def lint_flow(flow: Flow, embedder: Embedder | None = None) -> list[Finding]:
    """Every NLU warning for ``flow`` (near duplicates by embedding when ``embedder`` is given)."""
    return [*near_duplicates(flow, embedder), *ambiguous_keywords(flow), *few_examples(flow)]


class _LoadedModel:
    """The e5 model of ``data_dir``, loaded when first asked to embed."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        from nlu.e5.embedder import get_embedder

        return np.asarray(get_embedder(self.data_dir).embed(texts), dtype=np.float32)


class CachedEmbedder:
    """The e5 embedder of ``data_dir`` behind the on-disk embedding cache.

    The model is loaded only on a cache miss: linting a flow a second time needs no model.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Embeddings from the on-disk cache, computed (and cached) when missing."""
        from nlu.model import embed_cached

        cache = self.data_dir / "cache" / "embeddings"
        return embed_cached(_LoadedModel(self.data_dir), texts, cache, "multilingual-e5-small")


def lint_problems(path: Path, flow: Flow, embedder: Embedder | None = None) -> list[FlowProblem]:
    """:func:`lint_flow` as warnings at FILE:LINE:COL of the flow file ``path`` (already validated)."""
    from dialog.yaml_limits import DEFAULT_LIMITS
    from dialog.yaml_positions import parse_yaml

    doc = parse_yaml(path.read_text(encoding="utf-8"), DEFAULT_LIMITS)
    problems = []
    for yaml_path, message in lint_flow(flow, embedder):
        position = doc.position(yaml_path)
        problems.append(FlowProblem(str(path), position.line, position.col, message, "warning"))
    return sorted(problems, key=lambda p: (p.line, p.col))
