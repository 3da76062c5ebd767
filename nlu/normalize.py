"""Normalise what ASR emits before matching: width, case, punctuation, CJK spacing and fillers."""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# Punctuation of any script becomes a space; apostrophes inside English words are kept.
_PUNCT_RE = re.compile(r"[^\w\s']|_")
_SPACES_RE = re.compile(r"\s+")
_ZH_LEADING_FILLERS = (
    "那个",
    "就是说",
    "这个嘛",
    "我想想",
    "嗯",
    "啊",
    "呃",
    "额",
    "哦",
    "噢",
    "唉",
    "哎",
    "诶",
    "呐",
)
_ZH_TRAILING_PARTICLES = "啊呀哦噢嘛啦哈呗"
_EN_FILLERS = {"um", "uh", "er", "erm", "hmm", "mm", "uhm", "ah"}


def _strip_zh_fillers(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for filler in _ZH_LEADING_FILLERS:
            if text.startswith(filler) and len(text) > len(filler):
                text = text[len(filler) :].lstrip()
                changed = True
    while len(text) > 1 and text[-1] in _ZH_TRAILING_PARTICLES:
        text = text[:-1].rstrip()
    return text


def normalize(text: str) -> str:
    """Canonical form used by rules and examples alike (idempotent).

    - NFKC folds full-width letters, digits and punctuation to their usual forms;
    - English is lower-cased, punctuation removed, fillers (um, uh) dropped;
    - spaces ASR puts between Chinese characters are removed;
    - leading fillers (嗯, 那个…) and trailing particles (啊, 呀…) are removed, unless nothing would remain.
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = _PUNCT_RE.sub(" ", text)
    text = _SPACES_RE.sub(" ", text).strip()
    words = [word.strip("'") for word in text.split(" ")]
    kept = [word for word in words if word and word not in _EN_FILLERS]
    text = " ".join(kept or words)
    text = _CJK_SPACE_RE.sub("", text)
    return _strip_zh_fillers(text)


def is_cjk(char: str) -> bool:
    """True for a Chinese character."""
    return "\u3400" <= char <= "\u4dbf" or "\u4e00" <= char <= "\u9fff"
