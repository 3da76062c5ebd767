"""Grapheme → phoneme for the Kokoro voice, with the pronunciation lexicon applied.

Mandarin follows misaki 0.9.4's ``ZHG2P`` legacy path (the one Kokoro v1.0 was trained with): jieba
words, pypinyin per word, ``pinyin_to_ipa`` with tone arrows. Lexicon entries override the pinyin of
the characters they cover *after* segmentation, so the neighbouring words keep their context.
Latin-letter runs inside Mandarin text (APP, VIP) and English text go through espeak-ng
(:mod:`tts.espeak_phonemes`). Text should be normalised first (:mod:`tts.normalize`).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from tts.lexicon import Lexicon, is_phoneme_entry

log = logging.getLogger(__name__)

_HAN_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_RUN_RE = re.compile(r"[A-Za-z][A-Za-z' -]*[A-Za-z]|[A-Za-z]")
_DIGITS_RE = re.compile(r"\d")
# misaki ZHG2P.map_punctuation: full-width punctuation → the ASCII the model knows.
_ZH_PUNCT = str.maketrans(
    {
        "、": ", ",
        "，": ", ",
        "。": ". ",
        "．": ". ",
        "！": "! ",
        "：": ": ",
        "；": "; ",
        "？": "? ",
        "«": " “",
        "»": "” ",
        "《": " “",
        "》": "” ",
        "「": " “",
        "」": "” ",
        "【": " “",
        "】": "” ",
        "（": " (",
        "）": ") ",
    }
)

_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba_cut(text: str) -> list[str]:
    """jieba words of ``text``; the dictionary is loaded once, quietly."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)  # it prints "Building prefix dict" otherwise
                jieba.initialize()
                _jieba_ready = True
    return jieba.lcut(text, cut_all=False)


def pinyin_to_phonemes(syllable: str) -> str:
    """Kokoro phonemes of one pinyin syllable with a tone digit (``"huan2"`` → ``"xwa↗n"``)."""
    from misaki.zh import ZHG2P

    return ZHG2P.py2ipa(syllable)


@dataclass
class _Unit:
    """One character (or one lexicon phoneme span) of a Han run."""

    phonemes: str
    word_start: bool


class MandarinG2P:
    """Mandarin text → Kokoro phonemes, with ``lexicon`` readings forced."""

    def __init__(self, lexicon: Lexicon | None = None, en_lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon("zh")
        self.en_lexicon = en_lexicon  # for Latin words inside Mandarin text

    def __call__(self, text: str) -> str:
        """Phonemes of ``text`` (punctuation mapped to ``, . ! ? ;``)."""
        if _DIGITS_RE.search(text):  # normalisation should have spelt numbers out; cn2an as a safety net
            import cn2an

            text = cn2an.transform(text, "an2cn")
        text = text.translate(_ZH_PUNCT).strip()
        out: list[str] = []
        pos = 0
        for match in _HAN_RUN_RE.finditer(text):
            out.append(self._other(text[pos : match.start()]))
            out.append(self._han(match.group()))
            pos = match.end()
        out.append(self._other(text[pos:]))
        phonemes = "".join(out).replace(chr(815), "")
        return re.sub(r"\s+", " ", phonemes).strip()

    def _other(self, text: str) -> str:
        """Non-Han text: spaces/punctuation pass through, Latin letters go to espeak English."""
        if not text:
            return ""

        def english(match: re.Match[str]) -> str:
            word = match.group()
            return " " + english_phonemes(word, self.en_lexicon) + " "

        return _LATIN_RUN_RE.sub(english, text)

    def _han(self, run: str) -> str:
        from pypinyin import Style, lazy_pinyin

        units: list[_Unit] = []
        for word in _jieba_cut(run):
            syllables = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
            if len(syllables) != len(word):  # not one syllable per character: keep the word whole
                syllables = [" ".join(syllables)] + [""] * (len(word) - 1)
            for i, syllable in enumerate(syllables):
                units.append(_Unit(syllable, i == 0))
        self._apply_lexicon(run, units)
        words: list[str] = []
        for unit in units:
            if unit.word_start or not words:
                words.append("")
            words[-1] += unit.phonemes
        return " ".join(w for w in words if w)

    def _apply_lexicon(self, run: str, units: list[_Unit]) -> None:
        """Replace the pinyin of lexicon matches, then turn all pinyin into phonemes."""
        forced: dict[int, str] = {}
        pattern = self.lexicon.pattern()
        if pattern is not None:
            for match in pattern.finditer(run):
                value = self.lexicon.get(match.group()) or ""
                start, end = match.span()
                if is_phoneme_entry(value):
                    forced[start] = value[1:-1]
                    for i in range(start + 1, end):
                        forced[i] = ""
                else:
                    for i, syllable in zip(range(start, end), value.split(), strict=False):
                        forced[i] = pinyin_to_phonemes(syllable)
                for i in range(start, end):  # a forced word is one word of its own
                    units[i].word_start = i == start
                if end < len(units):
                    units[end].word_start = True
        for i, unit in enumerate(units):
            if i in forced:
                unit.phonemes = forced[i]
            elif unit.phonemes:
                unit.phonemes = "".join(_syllable_phonemes(s) for s in unit.phonemes.split())


def _syllable_phonemes(syllable: str) -> str:
    try:
        return pinyin_to_phonemes(syllable)
    except (ValueError, AssertionError, KeyError, IndexError):
        log.debug("no phonemes for pinyin %r", syllable)
        return ""


def english_phonemes(text: str, lexicon: Lexicon | None = None) -> str:
    """Kokoro phonemes of English ``text``; ``lexicon`` respellings/phonemes replace whole words."""
    from tts.espeak_phonemes import english_phonemizer

    phonemizer = english_phonemizer()
    pattern = lexicon.pattern() if lexicon is not None else None
    if pattern is None:
        return phonemizer.phonemes(text)
    pieces: list[str] = []
    pos = 0
    pending = ""
    for match in pattern.finditer(text):
        value = lexicon.get(match.group()) if lexicon is not None else None
        if value is None:
            continue
        if is_phoneme_entry(value):
            pending += text[pos : match.start()]
            if pending.strip():
                pieces.append(phonemizer.phonemes(pending))
            pieces.append(value[1:-1])
            pending = ""
        else:
            pending += text[pos : match.start()] + value
        pos = match.end()
    pending += text[pos:]
    if pending.strip():
        pieces.append(phonemizer.phonemes(pending))
    return " ".join(pieces)


class EnglishG2P:
    """English text → Kokoro phonemes (espeak-ng en-us + misaki's mapping), with ``lexicon``."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon("en")

    def __call__(self, text: str) -> str:
        """Phonemes of ``text``; a trailing ``, . ! ? ;`` is kept (it shapes the intonation)."""
        match = re.search(r"[,.!?;:]+\s*$", text)
        body, tail = (text[: match.start()], match.group().strip()[-1]) if match else (text, "")
        phonemes = english_phonemes(body, self.lexicon) if body.strip() else ""
        return (phonemes + tail).strip()
