"""TTS interfaces: the :class:`Audio` container and the :class:`Synthesizer` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

BYTES_PER_SAMPLE = 2


@dataclass(frozen=True)
class Audio:
    """16-bit little-endian mono PCM with its sample rate."""

    pcm: bytes
    sample_rate: int

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        if len(self.pcm) % BYTES_PER_SAMPLE:
            raise ValueError("16-bit PCM must have an even number of bytes")

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return len(self.pcm) // BYTES_PER_SAMPLE

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.n_samples / self.sample_rate


@runtime_checkable
class Synthesizer(Protocol):
    """Text-to-speech backend.

    ``language`` is ``"zh"`` (Mandarin) or ``"en"``; ``rate`` is the speaking rate in words per
    minute (None: the backend default). ``version`` identifies the backend and voice data so that a
    prompt cache can be invalidated when either changes.
    """

    version: str

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Audio:
        """Synthesise ``text``; returns mono 16-bit PCM at the backend's output rate."""
        ...
