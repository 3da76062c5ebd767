"""Fakes for the heavy parts, for the fast tier: an energy VAD, a scripted recogniser, a tone voice.

They implement the same protocols as Silero, Whisper and the TTS backends, so the voice loop, the
call builder and the drivers run unchanged in milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import numpy as np

from asr.base import Transcript
from asr.vad import VadFrame
from tts.base import Audio

CHUNK = 256  # samples per VAD decision at 8 kHz (32 ms, as Silero)


class EnergyVad:
    """Speech probability 1.0 for chunks louder than ``threshold`` (RMS of int16), else 0.0."""

    def __init__(self, sample_rate: int = 8000, threshold: float = 500.0) -> None:
        self.sample_rate = sample_rate
        self.threshold = threshold
        self._buffer = b""
        self._samples = 0

    def feed(self, pcm: bytes) -> list[VadFrame]:
        """Probabilities of every complete 256-sample chunk."""
        self._buffer += pcm
        frames = []
        while len(self._buffer) >= CHUNK * 2:
            chunk, self._buffer = self._buffer[: CHUNK * 2], self._buffer[CHUNK * 2 :]
            x = np.frombuffer(chunk, dtype="<i2").astype(np.float64)
            loud = float(np.sqrt(np.mean(x * x))) >= self.threshold
            frames.append(
                VadFrame(self._samples, self._samples + CHUNK, 1.0 if loud else 0.0, self.sample_rate)
            )
            self._samples += CHUNK
        return frames

    def reset(self) -> None:
        """Forget buffered audio and restart the clock."""
        self._buffer = b""
        self._samples = 0


class ScriptedRecognizer:
    """Returns the given texts in order, one per utterance (then empty text).

    An item may be an n-best list of (text, log-prob) pairs, best first: the transcript's text is
    the first, its ``alternatives`` the list. ``gate``: when set, each transcription waits for it (a decode that takes as long as the test
    wants); ``calls`` counts transcriptions.
    """

    def __init__(
        self, texts: Iterable[str | Sequence[tuple[str, float]]], gate: threading.Event | None = None
    ) -> None:
        self.texts = list(texts)
        self.gate = gate
        self.calls = 0

    def transcribe(self, pcm: bytes, sample_rate: int, *, initial_prompt: str | None = None) -> Transcript:
        """The next scripted text."""
        if self.gate is not None:
            self.gate.wait(10)
        self.calls += 1
        item = self.texts.pop(0) if self.texts else ""
        if isinstance(item, str):
            return Transcript(item, True, 0.0, len(pcm) / 2 / sample_rate, 1.0)
        alternatives = tuple(item)
        return Transcript(
            alternatives[0][0], True, 0.0, len(pcm) / 2 / sample_rate, 1.0, alternatives=alternatives
        )


class ToneSynthesizer:
    """A 400 Hz tone, 60 ms per character: a voice whose length follows the text."""

    version = "tone-1"

    def __init__(self, sample_rate: int = 8000) -> None:
        self.sample_rate = sample_rate

    def voice_for(self, language: str) -> str:
        """One voice for every language."""
        return "tone"

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Audio:
        """A tone as long as the text."""
        return Audio(tone_pcm(400.0, 0.06 * max(1, len(text)), self.sample_rate), self.sample_rate)


def tone_pcm(hz: float, seconds: float, sample_rate: int = 8000, amplitude: int = 8000) -> bytes:
    """16-bit mono sine."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()
