"""Phrase rules on recognised text: carrier announcements and voicemail greetings.

Whisper-base often writes a homophone (关机 → 观机, 空号 → 控号), so Mandarin phrases match on
toneless pinyin with the usual fuzzy pairs folded (zh/z, ch/c, sh/s, -ng/-n, l/n), besides the
characters themselves. English phrases match on lower-case words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: Carrier announcement classes, most specific first (an announcement may contain several clauses:
#: "您拨打的电话已关机" wins over the "请稍后再拨" that follows it).
ANNOUNCEMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "invalid_number": (
        "空号",
        "号码不存在",
        "不存在",
        "号码有误",
        "does not exist",
        "not a valid number",
        "is not in service",
        "invalid number",
    ),
    "powered_off": ("已关机", "关机", "powered off", "power off", "switched off", "turned off"),
    "suspended": ("已停机", "停机", "欠费", "暂停服务", "suspended", "barred"),
    "busy": (
        "正在通话中",
        "正在通话",
        "通话中",
        "占线",
        "用户忙",
        "正忙",
        "is busy",
        "line is busy",
    ),
    "unreachable": (
        "无法接通",
        "暂时无法接通",
        "不在服务区",
        "不能接通",
        "cannot be connected",
        "can not be connected",
        "not be reached",
        "unreachable",
        "not reachable",
        "out of service area",
        "not available",
    ),
    "no_answer": ("无人接听", "暂时无人接听", "no answer", "not answering"),
}

#: Voicemail greeting keywords (an answering machine, after the answer).
VOICEMAIL_PHRASES: tuple[str, ...] = (
    "留言",
    "语音信箱",
    "提示音后",
    "嘀声后",
    "不方便接听",
    "无法接听您的电话",
    "语音留言",
    "leave a message",
    "leave your message",
    "after the beep",
    "after the tone",
    "voicemail",
    "voice mail",
    "not available to take your call",
)

_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_PUNCT = re.compile(r"[^\w\s]+")


def _fold(syllable: str) -> str:
    for a, b in _FOLDS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a) :]
            break
    if syllable.startswith("l"):
        syllable = "n" + syllable[1:]
    if syllable.endswith("ng"):
        syllable = syllable[:-1]
    return syllable


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@lru_cache(maxsize=4096)
def pinyin_key(text: str) -> tuple[str, ...]:
    """Folded toneless pinyin of the Chinese characters of ``text`` (other characters dropped)."""
    from pypinyin import Style, lazy_pinyin

    han = "".join(ch for ch in text if _is_han(ch))
    if not han:
        return ()
    return tuple(_fold(s) for s in lazy_pinyin(han, style=Style.NORMAL, errors="ignore"))


def _contains(seq: tuple[str, ...], sub: tuple[str, ...]) -> bool:
    n = len(sub)
    return n > 0 and any(seq[i : i + n] == sub for i in range(len(seq) - n + 1))


def sound_similarity(a: str, b: str) -> float:
    """How alike two Mandarin texts sound: 1 - syllable edit distance / longer length (folded pinyin)."""
    x, y = pinyin_key(normalise(a).replace(" ", "")), pinyin_key(normalise(b).replace(" ", ""))
    if not x or not y:
        return 0.0
    from asr.metrics import edit_distance

    return 1.0 - edit_distance(x, y) / max(len(x), len(y))


_INITIALS = ("z", "c", "s", "b", "p", "m", "f", "d", "t", "n", "g", "k", "h", "j", "q", "x", "r", "y", "w")


def _split(syllable: str) -> tuple[str, str]:
    """A folded syllable as (initial, final)."""
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial) :]
    return "", syllable


def phrase_support(phrase: str, text: str) -> float:
    """How well ``text`` carries the sound of ``phrase`` somewhere: 1 for the same syllables, each
    syllable that keeps only its initial or its final costs half (关机 in 关系: 0.75), 0 for nothing.
    English phrases: 1 if present, else 0."""
    if not any(_is_han(ch) for ch in phrase):
        return 1.0 if matches(text, phrase) else 0.0
    want = pinyin_key(phrase)
    have = pinyin_key(normalise(text).replace(" ", ""))
    if not want or len(have) < len(want):
        return 0.0
    best = 0.0
    for start in range(len(have) - len(want) + 1):
        cost = 0.0
        for a, b in zip(want, have[start : start + len(want)], strict=True):
            if a != b:
                (ia, fa), (ib, fb) = _split(a), _split(b)
                cost += 0.5 if ia == ib or fa == fb else 1.0
        best = max(best, 1.0 - cost / len(want))
    return best


def normalise(text: str) -> str:
    """Simplified characters, lower case, punctuation replaced by spaces, spaces squeezed."""
    import zhconv

    text = zhconv.convert(text, "zh-hans").lower()
    return " ".join(_PUNCT.sub(" ", text).split())


def matches(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` (characters, pinyin, or English words)."""
    norm = normalise(text)
    if any(_is_han(ch) for ch in phrase):
        compact = norm.replace(" ", "")
        return phrase in compact or _contains(pinyin_key(compact), pinyin_key(phrase))
    return re.search(rf"\b{re.escape(phrase)}\b", norm) is not None


@dataclass(frozen=True)
class PhraseMatch:
    """A rule that fired: the class, the phrase and the text it was found in."""

    label: str
    phrase: str
    text: str


def classify_announcement(texts: list[str] | tuple[str, ...]) -> PhraseMatch | None:
    """The first rule that matches the best text of ``texts`` (an n-best list), else the next text…"""
    for text in texts:  # the best hypothesis first: an alternative must not overrule it
        for label, phrases in ANNOUNCEMENT_PHRASES.items():
            for phrase in phrases:
                if text and matches(text, phrase):
                    return PhraseMatch(label, phrase, text)
    return None


def voicemail_phrase(texts: list[str] | tuple[str, ...]) -> PhraseMatch | None:
    """A voicemail keyword found in any of ``texts``, or None."""
    for phrase in VOICEMAIL_PHRASES:
        for text in texts:
            if text and matches(text, phrase):
                return PhraseMatch("voicemail", phrase, text)
    return None
