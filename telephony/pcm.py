"""Telephone-band PCM constants and the playback queue shared by asyncio and the media clock thread."""

from __future__ import annotations

import threading
from collections import deque

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2  # 16-bit mono: 320 bytes
SILENCE = bytes(FRAME_BYTES)


def to_phone_rate(pcm: bytes, sample_rate: int) -> bytes:
    """Resample 16-bit mono PCM to 8 kHz with soxr (identity at 8 kHz)."""
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    if sample_rate == SAMPLE_RATE:
        return pcm
    import numpy as np
    import soxr

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    y = soxr.resample(x, sample_rate, SAMPLE_RATE, quality="HQ")
    return (np.clip(y, -1.0, 32767 / 32768) * 32768.0).round().astype("<i2").tobytes()


class PlaybackQueue:
    """20 ms frames waiting to be sent to the callee.

    ``push``/``clear`` run on the asyncio thread, ``pop`` on the media clock thread; a lock keeps them
    consistent. ``pop`` reports the moment the queue runs dry after real audio (``drained``), but not
    after a ``clear`` (barge-in), so a drained notification always means "everything was played".
    """

    def __init__(self) -> None:
        self._frames: deque[bytes] = deque()
        self._lock = threading.Lock()
        self._armed = False

    def push(self, pcm8k: bytes) -> int:
        """Queue 8 kHz PCM (the last partial frame is padded with silence); returns frames queued."""
        frames = [pcm8k[i : i + FRAME_BYTES] for i in range(0, len(pcm8k), FRAME_BYTES)]
        if frames and len(frames[-1]) < FRAME_BYTES:
            frames[-1] = frames[-1] + bytes(FRAME_BYTES - len(frames[-1]))
        with self._lock:
            self._frames.extend(frames)
            if frames:
                self._armed = True
        return len(frames)

    def clear(self) -> int:
        """Drop everything queued at once; returns the number of frames dropped."""
        with self._lock:
            n = len(self._frames)
            self._frames.clear()
            self._armed = False
        return n

    def pop(self) -> tuple[bytes | None, bool]:
        """Next frame (None when empty) and whether the queue just drained."""
        with self._lock:
            if self._frames:
                return self._frames.popleft(), False
            drained, self._armed = self._armed, False
            return None, drained

    @property
    def queued_ms(self) -> int:
        """Milliseconds of audio still queued."""
        return len(self._frames) * FRAME_MS

    def __len__(self) -> int:
        return len(self._frames)
