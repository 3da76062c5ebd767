"""Small PCM helpers for the ASR side (16-bit little-endian mono)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SUPPORTED_RATES = (8000, 16000)
BYTES_PER_SAMPLE = 2


def check_rate(sample_rate: int) -> int:
    """Return ``sample_rate`` if it is a supported phone/wideband rate, else raise ValueError."""
    if sample_rate not in SUPPORTED_RATES:
        raise ValueError(f"unsupported sample rate {sample_rate}; expected one of {SUPPORTED_RATES}")
    return sample_rate


def pcm16_to_float32(pcm: bytes) -> np.ndarray:
    """Convert 16-bit PCM bytes to float32 samples in [-1, 1)."""
    import numpy as np

    if len(pcm) % BYTES_PER_SAMPLE:
        raise ValueError("16-bit PCM must have an even number of bytes")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def resample_float32(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample float32 mono samples with soxr (identity when the rates are equal)."""
    if from_rate == to_rate:
        return samples
    import soxr

    return soxr.resample(samples, from_rate, to_rate, quality="HQ")


def duration_s(pcm: bytes, sample_rate: int) -> float:
    """Duration in seconds of 16-bit mono PCM."""
    return len(pcm) / (BYTES_PER_SAMPLE * sample_rate)
