"""Silero VAD on onnxruntime: model location, chunking, timestamps, speech detection."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from asr.vad import SileroVad, silero_model_path


def tone(seconds: float, rate: int, freq: float = 440.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * 32767 * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()


def test_model_found_without_importing_package() -> None:
    path = silero_model_path()
    assert path.name == "silero_vad.onnx" and path.stat().st_size > 1_000_000
    assert "silero_vad" not in sys.modules  # located with find_spec, never imported (it imports torch)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_arbitrary_chunk_sizes_give_sample_accurate_frames(rate: int) -> None:
    vad = SileroVad(rate)
    rng = np.random.default_rng(0)
    pcm = (rng.normal(0, 300, rate)).astype("<i2").tobytes()  # 1 s of noise
    frames = []
    pos = 0
    for size in [1, 3, 100, 320, 1000, 7, 4000] * 20:
        size -= size % 2  # whole samples only
        frames += vad.feed(pcm[pos : pos + size])
        pos += size
    frames += vad.feed(pcm[pos:])
    chunk = 256 if rate == 8000 else 512
    assert [f.start_sample for f in frames] == [i * chunk for i in range(rate // chunk)]
    assert all(f.end_sample - f.start_sample == chunk for f in frames)
    assert vad.samples_fed == rate
    assert frames[1].start_s == pytest.approx(chunk / rate)
    # Same probabilities as feeding the whole second at once.
    vad.reset()
    again = vad.feed(pcm)
    assert [f.probability for f in again] == pytest.approx([f.probability for f in frames], abs=1e-6)


def test_speech_vs_silence_and_tone(customer_clips) -> None:  # type: ignore[no-untyped-def]
    vad = SileroVad(8000)
    silence = vad.feed(b"\0" * 16000)
    assert max(f.probability for f in silence) < 0.1
    vad.reset()
    assert max(f.probability for f in vad.feed(tone(1.0, 8000))) < 0.5  # a pure tone is not speech
    clip = next(c for c in customer_clips if c.file == "019.wav")  # 现在不方便接电话, 2.3 s
    vad.reset()
    probs = [f.probability for f in vad.feed(clip.pcm)]
    speech = sum(p > 0.5 for p in probs) * 0.032
    assert 1.0 < speech < 2.3
    assert probs[0] < 0.1  # the clip starts with silence


def test_rejects_unsupported_rate() -> None:
    with pytest.raises(ValueError):
        SileroVad(44100)
