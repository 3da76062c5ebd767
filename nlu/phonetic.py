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
