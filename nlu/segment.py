"""Words, clauses and negation for keyword rules: jieba for Mandarin, word characters for English.

A keyword counts only where it starts and ends on word boundaries (对 does not fire inside 对面,
好 not inside 不好意思); a keyword right after a negation (不 确认, not interested) is negated.
Segmentation uses jieba's dictionary only (no HMM guessing of new words), so it is deterministic.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from nlu.normalize import is_cjk, normalize

#: Words that negate the keyword right after them (不 + 确认 → not affirm).
ZH_NEGATORS = frozenset(
    {"不", "没", "没有", "别", "不太", "不大", "不是很", "不怎么", "并不", "从不", "不怎么样"}
)
#: Softeners between a negation and its keyword (不 太 想, 没 怎么 用).
ZH_SOFTENERS = frozenset({"太", "很", "大", "怎么", "是很", "是太", "那么", "咋"})
EN_NEGATORS = frozenset(
    {"not", "don't", "dont", "no", "never", "can't", "cant", "cannot", "won't", "isn't", "doesn't",
     "didn't", "wasn't", "aren't", "wouldn't", "couldn't"}
)  # fmt: skip
EN_SOFTENERS = frozenset({"really", "very", "that", "quite", "so", "too", "actually"})
#: Particles, connectives and hedges that carry no intent of their own: keyword coverage does not
#: count them (那好吧 is 好, 还是觉得贵 is 贵).
FUNCTION_WORDS = frozenset(
    {"那", "那么", "那就", "就", "吧", "啊", "呀", "呢", "嘛", "了", "啦", "哦", "噢", "嗯",
     "呗", "哈", "还是", "其实", "反正", "然后", "哎", "唉", "觉得", "感觉", "我觉得", "的话",
     "吗", "多少", "能", "会", "要", "有没有", "我", "你", "您", "的", "这个", "那个", "也", "都", "还",
     "so", "well", "then", "oh", "just", "um", "uh", "i", "think", "guess", "really", "what", "are",
     "the", "is", "please", "and"}
)  # fmt: skip
_LATIN_WORD_RE = re.compile(r"[a-z0-9']+")
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
# Punctuation always ends a clause; a space does between two Chinese chunks of 2+ characters
# each (ASR writes 好 的 and 不 需要 with spaces inside one word; English spaces separate words).
_CLAUSE_PUNCT_RE = re.compile(r"[，,。.!！?？;；、：:…~]+")


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]  # imported lazily: the dictionary takes ~1 s to load
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=8192)
def words(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of every word of normalised ``text``: jieba words in Chinese, Latin words."""
    spans: list[tuple[int, int]] = []
    for match in _LATIN_WORD_RE.finditer(text):
        spans.append(match.span())
    for match in _CJK_RUN_RE.finditer(text):
        position = match.start()
        for word in _jieba().lcut(match.group(), HMM=False):
            spans.append((position, position + len(word)))
            position += len(word)
    return tuple(sorted(spans))


def boundaries(text: str) -> frozenset[int]:
    """Character offsets at which a word starts or ends."""
    return frozenset(offset for span in words(text) for offset in span)


def on_boundaries(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` starts and ends at word boundaries."""
    edges = boundaries(text)
    return start in edges and end in edges


def is_negated(text: str, start: int) -> bool:
    """True when the word(s) just before offset ``start`` negate what follows (不 确认, not sure)."""
    before = [text[a:b] for a, b in words(text) if b <= start]
    if not before:
        return False
    cjk = is_cjk(text[start]) if start < len(text) else False
    negators, softeners = (ZH_NEGATORS, ZH_SOFTENERS) if cjk else (EN_NEGATORS, EN_SOFTENERS)
    if before[-1] in negators:
        return True
    return len(before) >= 2 and before[-1] in softeners and before[-2] in negators


def clauses(raw: str) -> list[str]:
    """The normalised clauses of an utterance (split at punctuation and between long chunks)."""
    out: list[str] = []
    for part in _CLAUSE_PUNCT_RE.split(raw):
        chunks = [normalize(chunk) for chunk in part.split()]
        chunks = [chunk for chunk in chunks if chunk]
        current = ""
        for chunk in chunks:
            if current and len(current) >= 2 and len(chunk) >= 2 and is_cjk(current[-1]) and is_cjk(chunk[0]):
                out.append(current)
                current = chunk
            else:
                current = normalize(f"{current} {chunk}") if current else chunk
        if current:
            out.append(current)
    return out


def clause_spans(raw: str, normalized: str) -> list[tuple[int, int]]:
    """Where each clause of ``raw`` lies in ``normalized`` (its normal form); the whole if unsure."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for clause in clauses(raw):
        found = normalized.find(clause, cursor)
        if found < 0:
            return [(0, len(normalized))]
        spans.append((found, found + len(clause)))
        cursor = found + len(clause)
    return spans or [(0, len(normalized))]


def leading_word(raw: str, normalized: str) -> tuple[int, int] | None:
    """Span in ``normalized`` of the utterance's first spoken word or chunk (行 in 行 你介绍一下,
    yes in yes connect me): an answer word there stands alone even without a comma."""
    if " " in normalized and not is_cjk(normalized[0]):
        return (0, normalized.index(" "))
    for chunk in re.split(r"[\s，,。.!！?？;；]+", raw):
        word = normalize(chunk)
        if word and normalized.startswith(word) and len(word) < len(normalized):
            return (0, len(word))
        if word and not normalized.startswith(word):
            continue  # a filler the normal form dropped (嗯 是我)
        break
    return None


def function_chars(text: str) -> frozenset[int]:
    """Offsets of the characters of :data:`FUNCTION_WORDS` in ``text`` (not counted by coverage)."""
    return frozenset(
        index
        for start, end in words(text)
        if text[start:end] in FUNCTION_WORDS
        for index in range(start, end)
    )
