"""Normalise what ASR emits before matching: width, case, punctuation, CJK spacing and fillers."""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# Punctuation of any script becomes a space; apostrophes inside English words are kept.
_PUNCT_RE = re.compile(r"[^\w\s']|_")
_SPACES_RE = re.compile(r"\s+")
# Interjections that never start a word: always dropped at the start of an utterance.
_ZH_SAFE_FILLERS = ("嗯", "呃", "唔", "唉", "哎", "诶", "呐")
# These also begin real words (额度, 那个月, 啊?), so they are dropped only as a separate token
# followed by a word of two or more characters ("额 提前还款", not "额度" nor "额 度").
_ZH_TOKEN_FILLERS = ("那个", "这个", "就是说", "我想想", "啊", "额", "哦", "噢")
_EN_FILLERS = {"um", "uh", "er", "erm", "hmm", "mm", "uhm", "ah"}


def _strip_zh_fillers(text: str) -> str:
    """Drop leading fillers; ``text`` still has the spaces ASR put between tokens."""
    changed = True
    while changed:
        changed = False
        for filler in _ZH_SAFE_FILLERS:
            rest = text[len(filler) :].lstrip()
            if text.startswith(filler) and rest:
                text, changed = rest, True
        tokens = text.split(" ", 1)
        if len(tokens) == 2 and tokens[0] in _ZH_TOKEN_FILLERS:
            following = tokens[1].split(" ", 1)[0]
            if len(following) >= 2:
                text, changed = tokens[1], True
    return text


def core_form(normalized: str) -> str:
    """``normalized`` without trailing modal particles (好啊 → 好), for exact example lookup."""
    while len(normalized) > 1 and normalized[-1] in _ZH_TRAILING_PARTICLES:
        normalized = normalized[:-1].rstrip()
    return normalized


_ZH_TRAILING_PARTICLES = "啊呀哦噢嘛啦哈呗"


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (Whisper often writes 沒這個打算 for 没这个打算)."""
    if not any(is_cjk(char) for char in text):
        return text
    import zhconv  # small table, loaded on first use

    return zhconv.convert(text, "zh-hans")


def normalize(text: str) -> str:
    """Canonical form used by rules and examples alike (idempotent).

    - NFKC folds full-width letters, digits and punctuation to their usual forms;
    - traditional characters become simplified;
    - English is lower-cased, punctuation removed, fillers (um, uh) dropped;
    - spaces ASR puts between Chinese characters are removed;
    - leading fillers (嗯, 那个…) are removed, unless nothing would remain (see ``_strip_zh_fillers``).
    """
    text = to_simplified(unicodedata.normalize("NFKC", text)).lower().replace("’", "'")
    text = _PUNCT_RE.sub(" ", text)
    text = _SPACES_RE.sub(" ", text).strip()
    words = [word.strip("'") for word in text.split(" ")]
    kept = [word for word in words if word and word not in _EN_FILLERS]
    text = _strip_zh_fillers(" ".join(kept or words))
    return _CJK_SPACE_RE.sub("", text)


def is_cjk(char: str) -> bool:
    """True for a Chinese character."""
    return "\u3400" <= char <= "\u4dbf" or "\u4e00" <= char <= "\u9fff"
