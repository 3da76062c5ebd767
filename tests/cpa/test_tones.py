"""Tone detection and cadences on synthetic tones (ring-back, busy) and on silence."""

from __future__ import annotations

from waihu.cpa.tones import (
    ToneTracker,
    analyse,
    busy_tone,
    ringback,
    silence,
    tone,
)

FRAME = 320


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME] for i in range(0, len(pcm) - FRAME + 1, FRAME)]


def feed(tracker: ToneTracker, pcm: bytes) -> None:
    for f in frames(pcm):
        tracker.feed(f)


def test_a_sine_is_tonal_and_silence_or_noise_is_not() -> None:
    sine = tone(450, 0.04)
    result = analyse(sine[:FRAME], sine[FRAME:])
    assert result.tonal and abs(result.hz - 450) < 20
    assert not analyse(silence(0.02), silence(0.02)).tonal
    import numpy as np

    noise = (np.random.default_rng(1).normal(0, 3000, 320)).astype("<i2").tobytes()
    assert not analyse(noise, noise).tonal


def test_dual_tone_counts_as_one_tone() -> None:
    us_ringback = tone((440.0, 480.0), 0.04)
    assert analyse(us_ringback[:FRAME], us_ringback[FRAME:]).tonal


def test_busy_tone_cadence_is_recognised() -> None:
    tracker = ToneTracker()
    feed(tracker, silence(0.3) + busy_tone(4))
    assert tracker.busy()
    assert tracker.ringbacks == 0


def test_ringback_is_not_busy_and_is_counted() -> None:
    tracker = ToneTracker()
    feed(tracker, ringback(2))
    assert not tracker.busy()
    assert tracker.ringbacks == 2


def test_a_long_steady_tone_is_neither() -> None:
    tracker = ToneTracker()
    feed(tracker, tone(450, 6.0) + silence(0.5))
    assert not tracker.busy() and tracker.ringbacks == 0
