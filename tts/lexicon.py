"""Pronunciation lexicon for the Kokoro voice: built-in banking words plus per-flow entries.

An entry maps a word to how it must be read:

* Mandarin: pinyin with tone digits, one syllable per character (``{"还款": "huan2 kuan3"}``; 5 is the
  neutral tone, ``v`` or ``ü`` for ü);
* English: a respelling read by the English G2P instead of the word (``{"Waihu": "why who"}``);
* either language: Kokoro phonemes verbatim between slashes (``{"征信": "/ꭧə→ŋɕi↘n/"}``), for
  readings pinyin cannot express.

The lexicon is applied inside the G2P step (:mod:`tts.kokoro_g2p`), so an operator changes a reading
by editing the flow, not code. Entries are checked when the lexicon is built: a bad one raises
:class:`LexiconError` naming the word.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_SYLLABLE_RE = re.compile(r"^[a-zü]+[1-5]$")

#: Words the Kokoro voice (misaki's pinyin via pypinyin, or the model itself) gets wrong on bank
#: calls: 还款 came out as 海款 (pypinyin reads 还 hai2 here), 期/征信/办理 were heard as 起/真信/巴里.
#: Pinning the reading keeps it right whatever the word segmenter and the pinyin dictionary do.
BUILTIN_ZH: dict[str, str] = {
    "期": "qi1",
    "分期": "fen1 qi1",
    "期数": "qi1 shu4",
    "还款": "huan2 kuan3",
    "还钱": "huan2 qian2",  # pypinyin 0.55: hai2
    "还息": "huan2 xi1",  # pypinyin 0.55: hai2
    "还完": "huan2 wan2",  # on a bank call 还完 is "paid off", not "still finished"
    "征信": "zheng1 xin4",
    "办理": "ban4 li3",
    "额度": "e2 du4",
}
BUILTIN_EN: dict[str, str] = {}


class LexiconError(ValueError):
    """A lexicon entry that cannot be used (bad pinyin, wrong syllable count, empty word)."""


def is_phoneme_entry(value: str) -> bool:
    """Whether ``value`` gives Kokoro phonemes verbatim (``/.../``)."""
    return len(value) > 2 and value.startswith("/") and value.endswith("/")


def parse_pinyin(value: str) -> list[str]:
    """Split ``"huan2 kuan3"`` into syllables, normalising ``u:``/``ü`` to ``v`` (pypinyin's spelling)."""
    syllables = value.lower().replace("u:", "ü").replace("'", " ").split()
    bad = [s for s in syllables if not _SYLLABLE_RE.match(s)]
    if bad or not syllables:
        raise LexiconError(f"expected pinyin with tone digits 1-5 (e.g. 'huan2 kuan3'), got {value!r}")
    return [s.replace("ü", "v") for s in syllables]


@dataclass(frozen=True)
class Lexicon:
    """An immutable word → reading mapping for one language (``"zh"`` or ``"en"``).

    Build it with :func:`build_lexicon` (built-ins + overrides) or directly from a mapping; entries
    are validated on construction. ``digest`` identifies the content (it goes into the
    synthesiser's ``version`` so that cached prompts are re-synthesised when a reading changes).
    """

    language: str
    entries: Mapping[str, str] = field(default_factory=dict)
    _folded: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cleaned: dict[str, str] = {}
        for word, value in self.entries.items():
            word, value = str(word).strip(), str(value).strip()
            if not word or not value:
                raise LexiconError(f"empty word or reading in lexicon entry {word!r}: {value!r}")
            if self.language == "zh" and not is_phoneme_entry(value):
                syllables = parse_pinyin(value)
                _check_pinyin(word, syllables)
                value = " ".join(syllables)
            cleaned[word] = value
        object.__setattr__(self, "entries", cleaned)
        object.__setattr__(self, "_folded", {word.lower(): value for word, value in cleaned.items()})

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def get(self, word: str) -> str | None:
        """The reading of ``word`` (English words match case-insensitively)."""
        if self.language == "en":
            return self._folded.get(word.lower())
        return self.entries.get(word)

    @property
    def digest(self) -> str:
        """Short content hash (empty lexicon: ``"0"``)."""
        if not self.entries:
            return "0"
        payload = json.dumps(sorted(self.entries.items()), ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def merged(self, overrides: Mapping[str, str] | Lexicon | None) -> Lexicon:
        """A copy with ``overrides`` added (they win over existing entries)."""
        if not overrides:
            return self
        extra = overrides.entries if isinstance(overrides, Lexicon) else overrides
        return Lexicon(self.language, {**self.entries, **extra})

    def pattern(self) -> re.Pattern[str] | None:
        """A regex matching any entry, longest first (English: whole words, case-insensitive)."""
        return _pattern(self.language, tuple(sorted(self.entries, key=lambda w: (-len(w), w))))


def _check_pinyin(word: str, syllables: list[str]) -> None:
    from misaki.zh import ZHG2P

    n_han = len(_HAN_RE.findall(word))
    if n_han == len(word) and len(syllables) != n_han:
        raise LexiconError(
            f"lexicon entry {word!r}: {len(syllables)} pinyin syllables for {n_han} characters "
            f"({' '.join(syllables)!r}); give one syllable per character"
        )
    for syllable in syllables:
        try:
            ZHG2P.py2ipa(syllable)
        except (ValueError, AssertionError, KeyError, IndexError) as exc:
            raise LexiconError(f"lexicon entry {word!r}: {syllable!r} is not a pinyin syllable") from exc


_patterns: dict[tuple[str, tuple[str, ...]], re.Pattern[str] | None] = {}


def _pattern(language: str, words: tuple[str, ...]) -> re.Pattern[str] | None:
    key = (language, words)
    if key not in _patterns:
        if not words:
            _patterns[key] = None
        elif language == "en":
            alternation = "|".join(re.escape(w) for w in words)
            _patterns[key] = re.compile(rf"(?<![\w'])(?:{alternation})(?![\w'])", re.IGNORECASE)
        else:
            _patterns[key] = re.compile("|".join(re.escape(w) for w in words))
    return _patterns[key]


def builtin_lexicon(language: str) -> Lexicon:
    """The built-in entries for ``language`` (``"zh"`` or ``"en"``; others: empty)."""
    return Lexicon(language, BUILTIN_ZH if language == "zh" else BUILTIN_EN if language == "en" else {})


def build_lexicon(language: str, overrides: Mapping[str, str] | Lexicon | None = None) -> Lexicon:
    """Built-in entries for ``language`` with ``overrides`` (e.g. a flow's lexicon) on top."""
    return builtin_lexicon(language).merged(overrides)
