"""Per-call stereo recording (callee left, robot right) built from the frames the engine handles."""

from __future__ import annotations

import wave
from pathlib import Path

from telephony.pcm import SAMPLE_RATE


class StereoRecorder:
    """Collects both directions of one call in memory (32 kB/s) and writes a stereo WAV at the end.

    ``add_left``/``add_right`` are called from the media clock thread once per 20 ms tick each, so
    both channels stay aligned; the shorter one is padded with silence when writing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._left = bytearray()
        self._right = bytearray()
        self._closed = False

    def start(self) -> None:
        """Align the channels at answer time (frames may have been requested before media flowed)."""
        n = max(len(self._left), len(self._right))
        self._left.extend(bytes(n - len(self._left)))
        self._right.extend(bytes(n - len(self._right)))

    def add_left(self, pcm: bytes) -> None:
        """Callee audio (8 kHz 16-bit mono)."""
        if not self._closed:
            self._left += pcm

    def add_right(self, pcm: bytes) -> None:
        """Robot (or, bridged, seat) audio (8 kHz 16-bit mono)."""
        if not self._closed:
            self._right += pcm

    def close(self) -> None:
        """Stop accepting frames (called on the pjsua2 thread once the media port is gone)."""
        self._closed = True

    @property
    def duration_s(self) -> float:
        """Seconds recorded (the longer channel)."""
        return max(len(self._left), len(self._right)) / (2 * SAMPLE_RATE)

    def write(self) -> Path:
        """Write the stereo WAV (blocking: run it in a worker thread) and free the buffers."""
        import numpy as np

        n = max(len(self._left), len(self._right)) // 2
        stereo = np.zeros((n, 2), dtype="<i2")
        left = np.frombuffer(bytes(self._left), dtype="<i2")
        right = np.frombuffer(bytes(self._right), dtype="<i2")
        stereo[: len(left), 0] = left
        stereo[: len(right), 1] = right
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".wav.part")
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(stereo.tobytes())
        tmp.replace(self.path)
        self._left = bytearray()
        self._right = bytearray()
        return self.path
