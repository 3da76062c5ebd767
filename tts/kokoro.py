"""Kokoro-82M neural TTS (int8 ONNX, 24 kHz) for Mandarin and English: :class:`KokoroSynthesizer`.

Pipeline per request: normalise numbers (:mod:`tts.normalize`) → split into clauses at
``，。！？；、：,.!?;:`` → G2P with the lexicon (:mod:`tts.kokoro_g2p`) → one ONNX run per clause →
trim the model's own edge silence → join the clauses with short pauses. Clause by clause keeps
latency low (the first clause can play while the rest is synthesised: :meth:`synthesize_clauses`)
and keeps every run far below the model's 510-token limit.

Cost (2 cores): real-time factor ≈ 0.33 with 2 threads, ≈ 0.5 with 1; ~470 MB resident for the
session. The session is loaded once per process per (model file, thread count) and shared by every
synthesiser, so per-flow copies (:meth:`KokoroSynthesizer.with_lexicon`) cost nothing.

The model and voices are prepared by ``waihu models prepare`` (:mod:`tts.kokoro_data`); a missing
model raises :class:`~tts.kokoro_data.KokoroDataError`, an unknown voice :class:`UnknownVoiceError`.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tts.audio import resample
from tts.base import Audio
from tts.kokoro_data import (
    MODEL_FILENAME,
    VOICE_SHAPE,
    KokoroDataError,
    available_voices,
    check_model,
    expected_model_sha256,
    kokoro_dir,
)
from tts.lexicon import Lexicon, build_lexicon
from tts.normalize import normalize

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

KOKORO_RATE = 24000
BACKEND_REVISION = 2  # bump when the pipeline changes (invalidates prompt caches)
DEFAULT_VOICES: dict[str, str] = {"zh": "zf_xiaoyi", "en": "af_heart"}
LANGUAGE_ALIASES = {"cmn": "zh", "zh-cn": "zh", "en-us": "en"}
MAX_TOKENS = 510
#: ``rate`` (espeak-ng words per minute) that Kokoro's speed 1.0 corresponds to, so that ``rate``
#: keeps its espeak meaning: speed = rate / NATURAL_WPM[language]. Measured on the shipped flows'
#: prompts (pauses included): Kokoro 1.0 speaks Mandarin at 4.6 characters/s (espeak-ng at 220:
#: 4.7) and English at 3.3 words/s (espeak-ng at 165: 2.8, i.e. 1.0 ≈ 190).
NATURAL_WPM: dict[str, int] = {"zh": 220, "en": 190}
MIN_SPEED, MAX_SPEED = 0.5, 2.0

_CLAUSE_RE = re.compile(r"([，。！？；、：\n]+|[,.!?;:]+(?=\s|$))")
_SENTENCE_END = set("。！？.!?\n")


class UnknownVoiceError(ValueError):
    """A Kokoro voice name that is not prepared; the message lists the available voices."""


@dataclass(frozen=True)
class Clause:
    """A piece of text synthesised in one model run, and the pause that follows it."""

    text: str
    pause_s: float


# ------------------------------------------------------------------------------ shared model state

_lock = threading.Lock()
_sessions: dict[tuple[str, int], Any] = {}
_vocabs: dict[str, dict[str, int]] = {}
_voices: dict[str, np.ndarray] = {}


def _session(model_path: Path, threads: int) -> Any:
    """The ONNX session for ``model_path``, created once per process (checked against its sha256)."""
    key = (str(model_path), threads)
    with _lock:
        if key not in _sessions:
            import onnxruntime as ort

            if not any(k[0] == key[0] for k in _sessions):
                check_model(model_path)  # a damaged file gives a clear error instead of ORT's
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            _sessions[key] = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _sessions[key]


def _vocab(path: Path) -> dict[str, int]:
    with _lock:
        if str(path) not in _vocabs:
            _vocabs[str(path)] = json.loads(path.read_text(encoding="utf-8"))["vocab"]
        return _vocabs[str(path)]


def _voice(path: Path) -> np.ndarray:
    import numpy as np

    with _lock:
        if str(path) not in _voices:
            data = np.fromfile(path, dtype=np.float32)
            if data.size != VOICE_SHAPE[0] * VOICE_SHAPE[2]:
                raise KokoroDataError(f"{path} is not a Kokoro voice ({data.size} floats)")
            _voices[str(path)] = data.reshape(VOICE_SHAPE)
        return _voices[str(path)]


# ------------------------------------------------------------------------------------ text helpers


def split_clauses(text: str, clause_pause_s: float = 0.25, sentence_pause_s: float = 0.45) -> list[Clause]:
    """Split ``text`` after ``，。！？；、：`` (and ``, . ! ? ; :`` followed by a space) into clauses.

    Each clause keeps its punctuation (it shapes the intonation: ``?`` rises). The pause after a
    sentence end is ``sentence_pause_s``, after other punctuation ``clause_pause_s``; the last
    clause has none.
    """
    pieces = _CLAUSE_RE.split(text)
    clauses: list[Clause] = []
    for i in range(0, len(pieces), 2):
        body = pieces[i].strip()
        punct = pieces[i + 1] if i + 1 < len(pieces) else ""
        if not body:
            continue
        end = punct.strip()[-1:] if punct.strip() else ("\n" if "\n" in punct else "")
        pause = sentence_pause_s if end in _SENTENCE_END else clause_pause_s
        clauses.append(Clause(body + punct.strip(), pause))
    if clauses:
        clauses[-1] = Clause(clauses[-1].text, 0.0)
    return clauses


def _split_lexicon(
    lexicon: Mapping[str, str] | Lexicon | None,
) -> tuple[Mapping[str, str] | Lexicon | None, Mapping[str, str] | Lexicon | None]:
    """(Mandarin entries, English entries): a plain mapping is split by whether the word has Han."""
    if lexicon is None or isinstance(lexicon, Lexicon):
        if isinstance(lexicon, Lexicon) and lexicon.language == "en":
            return None, lexicon
        return lexicon, None
    zh = {w: v for w, v in lexicon.items() if re.search(r"[\u4e00-\u9fff]", w)}
    en = {w: v for w, v in lexicon.items() if w not in zh}
    return zh, en


def _trim(
    samples: np.ndarray, threshold: float = 0.002, lead_s: float = 0.1, tail_s: float = 0.2
) -> np.ndarray:
    """Cut the model's edge silence (~0.4 s before, 0.6-1 s after each clause), keeping a margin.

    Kept untrimmed, a comma pause lasts ~1.3 s. Measured on 33 sentences of the credit-card flow
    (Whisper-base, 8 kHz): a 40 ms margin and 0.15 s pauses gave CER 0.25; these margins with the
    default pauses (a comma gap of ~0.55 s) 0.15; untrimmed 0.11 (Whisper-base tends to stop
    transcribing after a short mid-sentence pause), at a 50 % longer audio.
    """
    import numpy as np

    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples[:0]
    return samples[max(0, loud[0] - int(lead_s * KOKORO_RATE)) : loud[-1] + int(tail_s * KOKORO_RATE)]


# ------------------------------------------------------------------------------------ synthesiser


class KokoroSynthesizer:
    """:class:`tts.base.Synthesizer` on Kokoro-82M v1.0 (int8 ONNX) with misaki/espeak-ng G2P.

    ``voices`` maps a language to a voice name (defaults :data:`DEFAULT_VOICES`: Mandarin
    ``zf_xiaoyi``, English ``af_heart``); ``speed`` multiplies the model's natural pace; ``lexicon``
    forces readings (word → pinyin with tone digits, an English respelling or ``/phonemes/``, see
    :mod:`tts.lexicon`) on top of the built-in banking entries; ``threads`` is onnxruntime's
    intra-op thread count (default 1: several calls share 2 cores); ``sample_rate`` None keeps the
    model's 24 kHz. Thread-safe.
    """

    def __init__(
        self,
        voices: Mapping[str, str] | None = None,
        speed: float = 1.0,
        *,
        lexicon: Mapping[str, str] | Lexicon | None = None,
        models_dir: Path | None = None,
        threads: int = 1,
        sample_rate: int | None = None,
        clause_pause_s: float = 0.25,
        sentence_pause_s: float = 0.45,
    ) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be within {MIN_SPEED}..{MAX_SPEED}, got {speed}")
        self.base_dir = kokoro_dir(models_dir)
        self.model_path = self.base_dir / MODEL_FILENAME
        if not self.model_path.is_file() or not (self.base_dir / "vocab.json").is_file():
            raise KokoroDataError(
                f"the Kokoro model is not prepared in {self.base_dir}: "
                "run `waihu models prepare --only kokoro`"
            )
        self.models_dir = models_dir
        self.voices = {**DEFAULT_VOICES, **(voices or {})}
        known = available_voices(models_dir)
        for language, voice in self.voices.items():
            if voice not in known:
                raise UnknownVoiceError(
                    f"unknown Kokoro voice {voice!r} for {language!r}; available voices: "
                    f"{', '.join(known) or '(none: run `waihu models prepare --only kokoro`)'}"
                )
        self.speed = float(speed)
        self.threads = max(1, int(threads))
        self.sample_rate = sample_rate
        self.clause_pause_s = clause_pause_s
        self.sentence_pause_s = sentence_pause_s
        self._user_lexicon = lexicon
        zh_entries, en_entries = _split_lexicon(lexicon)
        self.lexicons = {"zh": build_lexicon("zh", zh_entries), "en": build_lexicon("en", en_entries)}
        self._g2p: dict[str, Any] = {}
        self.version = (
            f"kokoro-v1.0-int8 {expected_model_sha256()[:12]}, "
            f"misaki {importlib.metadata.version('misaki')}, "
            f"waihu-kokoro/{BACKEND_REVISION}, speed {self.speed:g}, "
            f"lexicon {self.lexicons['zh'].digest}/{self.lexicons['en'].digest}"
        )

    # -- configuration --------------------------------------------------------------------------

    @property
    def available_voices(self) -> list[str]:
        """Prepared voice names."""
        return available_voices(self.models_dir)

    def voice_for(self, language: str) -> str:
        """The voice used for ``language`` (prompt caches key on it)."""
        return self.voices.get(self._language(language), language)

    def with_lexicon(self, lexicon: Mapping[str, str] | Lexicon | None) -> KokoroSynthesizer:
        """A copy whose lexicon adds ``lexicon`` (e.g. a flow's) to this one's; shares the model."""
        merged: dict[str, str] = {}
        for part in (self._user_lexicon, lexicon):
            if isinstance(part, Lexicon):
                merged.update(part.entries)
            elif part:
                merged.update(part)
        return self._copy(lexicon=merged)

    def with_voice(self, language: str, voice: str) -> KokoroSynthesizer:
        """A copy using ``voice`` for ``language`` (raises :class:`UnknownVoiceError`)."""
        return self._copy(voices={**self.voices, self._language(language): voice})

    def _copy(self, **changes: Any) -> KokoroSynthesizer:
        params: dict[str, Any] = {
            "voices": self.voices,
            "speed": self.speed,
            "lexicon": self._user_lexicon,
            "models_dir": self.models_dir,
            "threads": self.threads,
            "sample_rate": self.sample_rate,
            "clause_pause_s": self.clause_pause_s,
            "sentence_pause_s": self.sentence_pause_s,
        }
        params.update(changes)
        return KokoroSynthesizer(**params)

    def speed_for(self, rate: int | None, language: str = "zh") -> float:
        """Model speed for ``rate`` words per minute (espeak's meaning); None → ``self.speed``.

        speed = self.speed × rate / :data:`NATURAL_WPM` [language], clamped to 0.5–2.0.
        """
        if rate is None:
            return self.speed
        natural = NATURAL_WPM.get(self._language(language), NATURAL_WPM["en"])
        return min(MAX_SPEED, max(MIN_SPEED, self.speed * rate / natural))

    @staticmethod
    def _language(language: str) -> str:
        return LANGUAGE_ALIASES.get(language.lower(), language.lower())

    def preload(self, languages: tuple[str, ...] = ("zh", "en")) -> None:
        """Load the model session, the voices and the G2P now (~2 s) rather than on the first call."""
        _session(self.model_path, self.threads)
        for language in languages:
            _voice(self.base_dir / "voices" / f"{self.voice_for(language)}.bin")
            self._g2p_for(language)("好" if self._language(language) == "zh" else "ok")

    # -- text → phonemes ------------------------------------------------------------------------

    def _g2p_for(self, language: str) -> Any:
        language = self._language(language)
        if language not in self._g2p:
            from tts.kokoro_g2p import EnglishG2P, MandarinG2P

            if language == "zh":
                self._g2p[language] = MandarinG2P(self.lexicons["zh"], self.lexicons["en"])
            elif language == "en":
                self._g2p[language] = EnglishG2P(self.lexicons["en"])
            else:
                raise ValueError(f"Kokoro speaks zh and en, not {language!r}")
        return self._g2p[language]

    def clauses(self, text: str, language: str = "zh") -> list[Clause]:
        """The normalised clauses ``text`` is synthesised in."""
        return split_clauses(
            normalize(text, self._language(language)), self.clause_pause_s, self.sentence_pause_s
        )

    def phonemize(self, text: str, *, language: str = "zh") -> list[str]:
        """Kokoro phonemes per clause (what :meth:`synthesize` feeds the model)."""
        g2p = self._g2p_for(language)
        return [g2p(clause.text) for clause in self.clauses(text, language)]

    # -- synthesis ------------------------------------------------------------------------------

    def _token_ids(self, phonemes: str) -> list[list[int]]:
        """Token ids for ``phonemes``, cut at word boundaries into runs of ≤ :data:`MAX_TOKENS`."""
        vocab = _vocab(self.base_dir / "vocab.json")
        chunks: list[list[int]] = [[]]
        for word in re.split(r"(?<= )", phonemes):
            ids = [vocab[c] for c in word if c in vocab]
            if len(chunks[-1]) + len(ids) > MAX_TOKENS and chunks[-1]:
                chunks.append([])
            chunks[-1].extend(ids[:MAX_TOKENS])
        return [c for c in chunks if c]

    def _run(self, ids: list[int], voice: str, speed: float) -> np.ndarray:
        import numpy as np

        style = _voice(self.base_dir / "voices" / f"{voice}.bin")[min(len(ids), VOICE_SHAPE[0] - 1)]
        session = _session(self.model_path, self.threads)
        audio = session.run(
            None,
            {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": np.asarray(style, dtype=np.float32).reshape(1, VOICE_SHAPE[2]),
                "speed": np.array([speed], dtype=np.float32),
            },
        )[0]
        return _trim(np.asarray(audio, dtype=np.float32).ravel())

    def _to_audio(self, samples: np.ndarray) -> Audio:
        import numpy as np

        pcm = (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).round().astype("<i2").tobytes()
        audio = Audio(pcm, KOKORO_RATE)
        return resample(audio, self.sample_rate) if self.sample_rate is not None else audio

    def synthesize_clauses(
        self, text: str, *, language: str = "zh", rate: int | None = None
    ) -> Iterator[Audio]:
        """Yield the audio of each clause as soon as it is synthesised (its pause appended).

        Joining the yielded PCM gives exactly :meth:`synthesize`'s result; play the first piece
        while the next ones are computed to cut the time to first audio.
        """
        import numpy as np

        language = self._language(language)
        g2p = self._g2p_for(language)
        voice = self.voice_for(language)
        speed = self.speed_for(rate, language)
        for clause in self.clauses(text, language):
            pieces = [self._run(ids, voice, speed) for ids in self._token_ids(g2p(clause.text))]
            samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
            if samples.size == 0:
                continue
            pause = np.zeros(round(clause.pause_s * KOKORO_RATE), np.float32)
            yield self._to_audio(np.concatenate([samples, pause]))

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Audio:
        """Synthesise ``text`` (``rate`` in words per minute, see :meth:`speed_for`); 24 kHz by default."""
        out_rate = self.sample_rate or KOKORO_RATE
        pcm = b"".join(a.pcm for a in self.synthesize_clauses(text, language=language, rate=rate))
        return Audio(pcm, out_rate)
