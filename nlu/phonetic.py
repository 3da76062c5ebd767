"""Pinyin folding so that ASR homophone errors still match (利息 heard as 力气: li xi / li qi).

Each Chinese character becomes its toneless pinyin with commonly confused sounds folded together:
retroflex and flat initials (zh/z, ch/c, sh/s), n/l, f/h, the palatals j/q/x, and front/back nasal
finals (an/ang, en/eng, in/ing). Other characters are kept as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

from nlu.normalize import is_cjk

_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("q", "j"), ("x", "j"), ("n", "l"), ("f", "h"))
_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


def fold_syllable(syllable: str) -> str:
    """Fold one toneless pinyin syllable into its confusable class."""
    for old, new in _INITIALS:
        if syllable.startswith(old):
            syllable = new + syllable[len(old) :]
            break
    for old, new in _FINALS:
        if syllable.endswith(old):
            return syllable[: -len(old)] + new
    return syllable


@lru_cache(maxsize=1)
def _pinyin():  # the pypinyin function, imported lazily (0.2 s)
    from pypinyin import Style, lazy_pinyin

    return lambda text: lazy_pinyin(text, style=Style.NORMAL, errors=lambda chars: list(chars))


def phonetic_tokens(text: str) -> list[str]:
    """One token per character: folded pinyin for Chinese characters, the character otherwise."""
    tokens: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            tokens.extend(fold_syllable(s) for s in _pinyin()("".join(run)))
            run.clear()

    for char in text:
        if is_cjk(char):
            run.append(char)
        else:
            flush()
            tokens.append(char)
    flush()
    return tokens


def phonetic_key(text: str) -> str:
    """A string form of :func:`phonetic_tokens` in which a substring search respects syllables."""
    return "|" + "|".join(phonetic_tokens(text)) + "|"


def find_phonetic(keyword_key: str, text_key: str) -> list[tuple[int, int]]:
    """Token spans of ``text_key`` where ``keyword_key`` occurs (both from :func:`phonetic_key`)."""
    spans: list[tuple[int, int]] = []
    length = keyword_key.count("|") - 1
    for match in re.finditer(re.escape(keyword_key[:-1]) + r"(?=\|)", text_key):
        start = text_key.count("|", 0, match.start())
        spans.append((start, start + length))
    return spans


# --- Near-syllable matching -------------------------------------------------------------------
# Beyond folding: a syllable whose initial or final is *near* another's (zhong/zheng, xie/xu) costs
# NEAR_COST instead of 1. Pairs are of folded forms (see fold_syllable); ü is written v.

_INITIAL_LIST = (
    "zh",
    "ch",
    "sh",
    "b",
    "p",
    "m",
    "f",
    "d",
    "t",
    "n",
    "l",
    "g",
    "k",
    "h",
    "j",
    "q",
    "x",
    "r",
    "z",
    "c",
    "s",
    "y",
    "w",
)
NEAR_COST = 0.5
_NEAR_INITIALS = frozenset(frozenset(pair) for pair in (("b", "p"), ("d", "t"), ("g", "k"), ("l", "r")))
_NEAR_FINALS = frozenset(
    frozenset(pair)
    for pair in (
        ("ong", "en"),  # zhong / zheng
        ("ie", "v"),  # xie / xu
        ("ve", "ie"),  # xue / xie
        ("uo", "u"),  # cuo / cu
        ("uo", "o"),  # duo / do
        ("in", "i"),  # xin / xi
        ("ian", "in"),  # xian / xin
    )
)


def split_syllable(syllable: str) -> tuple[str, str]:
    """(initial, final) of a folded toneless syllable; ü after j/q/x/y is written ``v``."""
    for initial in _INITIAL_LIST:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            final = syllable[len(initial) :]
            if initial in ("j", "q", "x", "y") and final.startswith("u"):
                final = "v" + final[1:]
            return initial, final
    return "", syllable


@lru_cache(maxsize=65536)
def syllable_cost(a: str, b: str) -> float:
    """0 for the same folded syllable, NEAR_COST for a near initial or final, 1 otherwise."""
    if a == b:
        return 0.0
    if not (a.isascii() and a.isalpha() and b.isascii() and b.isalpha()):
        return 1.0
    (ia, fa), (ib, fb) = split_syllable(a), split_syllable(b)
    cost = 0.0
    for x, y, near in ((ia, ib, _NEAR_INITIALS), (fa, fb, _NEAR_FINALS)):
        if x != y:
            cost += NEAR_COST if frozenset((x, y)) in near else 1.0
    return min(cost, 1.0)


def near_spans(phrase: list[str], text: list[str], budget: float) -> list[tuple[int, int, float]]:
    """(start, end, cost) of the windows of ``text`` within ``budget`` of ``phrase``.

    Both are :func:`phonetic_tokens` lists; only syllable substitutions are considered (no
    insertions), and every syllable must be at least near (no cost-1 syllable).
    """
    length = len(phrase)
    spans: list[tuple[int, int, float]] = []
    for start in range(len(text) - length + 1):
        total = 0.0
        for offset, syllable in enumerate(phrase):
            cost = syllable_cost(syllable, text[start + offset])
            total += cost
            if cost >= 1.0 or total > budget:
                break
        else:
            spans.append((start, start + length, total))
    return spans
