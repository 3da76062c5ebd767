"""Audio helpers: resampling, WAV I/O, mu-law, recorded prompts."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
import pytest

from tts.audio import read_wav, resample, rms_dbfs, ulaw_decode, ulaw_encode, wav_bytes, write_wav
from tts.base import Audio
from tts.recorded import load_recorded


def sine(freq: float, seconds: float, rate: int, amp: float = 0.5) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((amp * 32767 * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes(), rate)


def dominant_freq(audio: Audio) -> float:
    x = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.argmax(spectrum) * audio.sample_rate / len(x))


@pytest.mark.parametrize("target", [8000, 16000])
def test_resample_keeps_duration_pitch_and_level(target: int) -> None:
    src = sine(440, 2.0, 22050)
    out = resample(src, target)
    assert out.sample_rate == target
    assert out.duration_s == pytest.approx(2.0, abs=0.001)
    assert dominant_freq(out) == pytest.approx(440, abs=1)
    assert rms_dbfs(out) == pytest.approx(rms_dbfs(src), abs=0.2)
    assert resample(out, target) is out


def test_resample_removes_content_above_nyquist() -> None:
    out = resample(sine(6000, 1.0, 22050), 8000)  # 6 kHz cannot exist at 8 kHz: must be filtered, not aliased
    assert rms_dbfs(out) < -40


def test_wav_roundtrip_and_atomic_write(tmp_path: Path) -> None:
    audio = sine(300, 0.5, 8000)
    path = tmp_path / "sub" / "a.wav"
    write_wav(path, audio)
    assert read_wav(path) == audio
    assert [p.name for p in path.parent.iterdir()] == ["a.wav"]  # no temporary file left
    assert wav_bytes(audio)[:4] == b"RIFF"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ulaw_matches_audioop_and_roundtrips() -> None:
    audioop = pytest.importorskip("audioop")  # stdlib up to 3.12: the reference implementation

    pcm = np.arange(-32768, 32768, 7, dtype="<i2").tobytes()
    assert ulaw_encode(pcm) == audioop.lin2ulaw(pcm, 2)
    codes = bytes(range(256))
    assert ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    back = np.frombuffer(ulaw_decode(ulaw_encode(sine(440, 0.1, 8000).pcm)), dtype="<i2")
    orig = np.frombuffer(sine(440, 0.1, 8000).pcm, dtype="<i2")
    assert np.max(np.abs(back.astype(int) - orig)) < 600  # half the largest mu-law step


def _write_raw_wav(path: Path, data: bytes, rate: int, width: int, channels: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


def test_recorded_prompt_any_rate_width_channels(tmp_path: Path) -> None:
    mono = sine(500, 1.0, 44100, amp=0.25)
    x = np.frombuffer(mono.pcm, dtype="<i2").astype(np.int32)
    # 24-bit stereo 44.1 kHz (left = signal, right = signal): mixdown must keep it
    s24 = np.repeat(x << 8, 2)
    raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in s24)
    path = tmp_path / "op.wav"
    _write_raw_wav(path, raw, 44100, 3, 2)
    out = load_recorded(path)
    assert out.sample_rate == 8000
    assert out.duration_s == pytest.approx(1.0, abs=0.001)
    assert dominant_freq(out) == pytest.approx(500, abs=1)
    assert rms_dbfs(out) == pytest.approx(rms_dbfs(mono), abs=0.3)
    # 8-bit unsigned mono
    u8 = ((x >> 8) + 128).astype(np.uint8).tobytes()
    _write_raw_wav(path, u8, 44100, 1, 1)
    assert dominant_freq(load_recorded(path, 16000)) == pytest.approx(500, abs=1)
    with pytest.raises(FileNotFoundError):
        load_recorded(tmp_path / "missing.wav")


def test_audio_validation() -> None:
    with pytest.raises(ValueError):
        Audio(b"\0", 8000)
    with pytest.raises(ValueError):
        Audio(b"", 0)
