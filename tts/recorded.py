"""Operator-recorded prompts: load a WAV at any rate/width/channel count and convert it."""

from __future__ import annotations

import os

from tts.audio import PHONE_RATE, read_wav, resample
from tts.base import Audio


def load_recorded(path: str | os.PathLike[str], sample_rate: int = PHONE_RATE) -> Audio:
    """Load a recorded prompt as 16-bit mono PCM at ``sample_rate`` (default 8 kHz, the phone rate).

    Accepts PCM WAV of 8/16/24/32-bit samples, any channel count (mixed down) and any sample rate.
    Raises ``wave.Error`` for non-PCM WAVs (e.g. already mu-law encoded) and ``FileNotFoundError``.
    """
    return resample(read_wav(path), sample_rate)
