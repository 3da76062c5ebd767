"""The hold music the callee hears while a seat rings: never a silent frame, the flow's line first."""

from __future__ import annotations

import numpy as np

from sip_peers.peers import dominant_hz, rms
from waihu.voice.hold_audio import DEFAULT_HOLD_PROMPT, HOLD_NOTES_HZ, hold_music, hold_prompt

FRAME = 320  # 20 ms of 8 kHz 16-bit PCM


def test_hold_music_has_no_silent_frame_even_across_its_loop() -> None:
    music = hold_music()
    looped = music * 3  # what the call plays: the loop back to back
    frames = [looped[i : i + FRAME] for i in range(0, len(looped) - FRAME + 1, FRAME)]
    assert min(rms(frame) for frame in frames) > 500
    samples = np.frombuffer(looped, dtype="<i2").astype(int)
    assert np.abs(np.diff(samples)).max() < 4000  # no click where the loop restarts


def test_hold_music_is_the_arpeggio_not_a_ring_back_tone() -> None:
    music = hold_music()
    note = len(music) // len(HOLD_NOTES_HZ)
    heard = [dominant_hz(music[i * note : (i + 1) * note]) for i in range(len(HOLD_NOTES_HZ))]
    assert all(abs(hz - expected) < 15 for hz, expected in zip(heard, HOLD_NOTES_HZ, strict=True)), heard


def test_the_flows_hold_line_wins_over_the_default() -> None:
    assert hold_prompt(None, "zh") == "请稍等，正在为您转接" == DEFAULT_HOLD_PROMPT["zh"]
    assert hold_prompt(None, "en") == DEFAULT_HOLD_PROMPT["en"]
    assert hold_prompt("请您稍候", "zh") == "请您稍候"
