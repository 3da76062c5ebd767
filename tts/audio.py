"""Audio helpers: soxr resampling, WAV read/write (atomic), G.711 mu-law, levels."""

from __future__ import annotations

import io
import os
import tempfile
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from tts.base import Audio

if TYPE_CHECKING:
    import numpy as np

PHONE_RATE = 8000
WIDEBAND_RATE = 16000


def to_array(audio: Audio) -> np.ndarray:
    """The samples of ``audio`` as an int16 numpy array (a read-only view)."""
    import numpy as np

    return np.frombuffer(audio.pcm, dtype="<i2")


def resample(audio: Audio, sample_rate: int) -> Audio:
    """Resample with soxr (high quality); returns ``audio`` unchanged when the rate already matches."""
    if audio.sample_rate == sample_rate:
        return audio
    import numpy as np
    import soxr

    samples = to_array(audio).astype(np.float32) / 32768.0
    out = soxr.resample(samples, audio.sample_rate, sample_rate, quality="HQ")
    pcm = (np.clip(out, -1.0, 32767 / 32768) * 32768.0).round().astype("<i2").tobytes()
    return Audio(pcm, sample_rate)


def _to_mono16(raw: bytes, sampwidth: int, channels: int) -> bytes:
    """Convert 8/16/24/32-bit PCM with any channel count to 16-bit mono."""
    import numpy as np

    if sampwidth == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif sampwidth == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif sampwidth == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)) >> 16
    elif sampwidth == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.int64) >> 16
    else:
        raise ValueError(f"unsupported sample width {sampwidth}")
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    return np.clip(data, -32768, 32767).astype("<i2").tobytes()


def read_wav(path: str | os.PathLike[str] | io.BytesIO) -> Audio:
    """Read a PCM WAV file (8/16/24/32-bit, any channel count) as 16-bit mono at its own rate."""
    with wave.open(path if isinstance(path, io.BytesIO) else os.fspath(path), "rb") as w:
        raw = w.readframes(w.getnframes())
        return Audio(_to_mono16(raw, w.getsampwidth(), w.getnchannels()), w.getframerate())


def wav_bytes(audio: Audio) -> bytes:
    """Encode ``audio`` as a complete 16-bit mono WAV file."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(audio.pcm)
    return buf.getvalue()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_wav(path: str | os.PathLike[str], audio: Audio) -> None:
    """Write ``audio`` as a 16-bit mono WAV file, atomically."""
    atomic_write_bytes(path, wav_bytes(audio))


def rms_dbfs(audio: Audio) -> float:
    """RMS level in dBFS (-inf for digital silence)."""
    import numpy as np

    x = to_array(audio).astype(np.float64) / 32768.0
    if x.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(x * x)))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def ulaw_encode(pcm: bytes) -> bytes:
    """G.711 mu-law encode 16-bit PCM (one byte per sample; bit-exact with ``audioop.lin2ulaw``)."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(x), 8159) + 33
    seg = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), mag)
    uval = np.where(seg >= 8, 0x7F, (seg << 4) | ((mag >> (seg + 1)) & 0x0F))
    return ((uval ^ mask) & 0xFF).astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law decode to 16-bit PCM."""
    import numpy as np

    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -mag, mag).astype("<i2").tobytes()
