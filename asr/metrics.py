"""Error rates for evaluating recognisers (CER for Chinese, WER for English)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_PUNCT_RE = re.compile(r"[^\w\s']|_", re.UNICODE)


def normalize_text(text: str) -> str:
    """Lower-case, NFKC, drop punctuation, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_PUNCT_RE.sub(" ", text).split())


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def cer(ref: str, hyp: str) -> float:
    """Character error rate, ignoring punctuation and spaces."""
    r = normalize_text(ref).replace(" ", "")
    h = normalize_text(hyp).replace(" ", "")
    return edit_distance(r, h) / max(1, len(r))


def wer(ref: str, hyp: str) -> float:
    """Word error rate on normalised text."""
    r = normalize_text(ref).split()
    return edit_distance(r, normalize_text(hyp).split()) / max(1, len(r))


def corpus_error_rate(pairs: Sequence[tuple[str, str]], unit: str = "char") -> float:
    """Pooled error rate (total edits / total reference units) over (ref, hyp) pairs."""
    edits = total = 0
    for ref, hyp in pairs:
        if unit == "char":
            r, h = normalize_text(ref).replace(" ", ""), normalize_text(hyp).replace(" ", "")
        else:
            r, h = normalize_text(ref).split(), normalize_text(hyp).split()  # type: ignore[assignment]
        edits += edit_distance(r, h)
        total += len(r)
    return edits / max(1, total)
