"""Minimal interfaces shared by the ASR backends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing (seconds from the start of the stream or utterance)."""

    text: str
    start_s: float
    end_s: float
    confidence: float | None = None


@dataclass(frozen=True)
class Transcript:
    """A recognition result.

    ``is_final`` is False for streaming partials. Times are seconds of audio fed to the recogniser
    (for an utterance recogniser: relative to the start of the utterance). ``confidence`` is in
    [0, 1] when the backend provides one. ``alternatives`` is the n-best list of a backend that
    gives one: distinct (text, log-probability per token) pairs, best first, the first being
    ``text``; empty when the backend gives a single hypothesis.
    """

    text: str
    is_final: bool
    start_s: float
    end_s: float
    confidence: float | None = None
    words: tuple[Word, ...] = ()
    alternatives: tuple[tuple[str, float], ...] = ()


@runtime_checkable
class StreamingRecognizer(Protocol):
    """A recogniser fed with raw 16-bit mono PCM as it arrives from the call."""

    def accept(self, pcm: bytes) -> Transcript | None:
        """Feed audio; return a partial transcript when the hypothesis changed, otherwise None."""
        ...

    def finish(self) -> Transcript:
        """Return the final transcript of the utterance so far and get ready for the next one."""
        ...

    def reset(self) -> None:
        """Drop all audio and hypotheses and start afresh."""
        ...


@runtime_checkable
class UtteranceRecognizer(Protocol):
    """A recogniser run once on a VAD-segmented utterance."""

    def transcribe(self, pcm: bytes, sample_rate: int, *, initial_prompt: str | None = None) -> Transcript:
        """Transcribe one utterance of 16-bit mono PCM at ``sample_rate`` (8000 or 16000).

        ``initial_prompt`` is text the callee is likely to say (the node's vocabulary); a backend
        that cannot use it ignores it.
        """
        ...
