"""Endpointer: deterministic events from the audio fed (fake VAD for exact timing, Silero for real clips)."""

from __future__ import annotations

import numpy as np
import pytest

from asr.endpointing import (
    Endpointer,
    EndpointerConfig,
    ListenTimeout,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)
from asr.vad import VadFrame

RATE = 8000
CHUNK = 256  # like Silero at 8 kHz: 32 ms
LOUD = 8000


class EnergyVad:
    """Deterministic stand-in for Silero: a chunk is speech (p=1) when its mean |sample| is large."""

    sample_rate = RATE

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._pending = b""
        self._done = 0

    def feed(self, pcm: bytes) -> list[VadFrame]:
        data = self._pending + pcm
        n = len(data) // (2 * CHUNK)
        self._pending = data[n * 2 * CHUNK :]
        frames = []
        for i in range(n):
            x = np.frombuffer(data[i * 2 * CHUNK : (i + 1) * 2 * CHUNK], dtype="<i2")
            p = 1.0 if np.abs(x.astype(np.int32)).mean() > 1000 else 0.0
            frames.append(VadFrame(self._done, self._done + CHUNK, p, RATE))
            self._done += CHUNK
        return frames


def chunks(n: int, loud: bool) -> bytes:
    """``n`` VAD chunks of loud square wave or silence, with a marker so slices are recognisable."""
    if not loud:
        return b"\0\0" * CHUNK * n
    x = np.tile(np.array([LOUD, -LOUD], dtype="<i2"), CHUNK * n // 2)
    return x.tobytes()


def run(ep: Endpointer, pcm: bytes, step: int = 320) -> list[object]:
    events: list[object] = []
    for i in range(0, len(pcm), step):
        events += ep.feed(pcm[i : i + step])
    return events


def make(**kw: float) -> Endpointer:
    """An endpointer on the energy VAD; pause events off unless asked for (most tests count events)."""
    kw.setdefault("pause_events", False)
    return Endpointer(EndpointerConfig(**kw), RATE, vad=EnergyVad())


def test_pause_carries_the_final_audio_and_resume_invalidates_it() -> None:
    ep = make(end_silence_s=0.6, pre_roll_s=0.0, post_roll_s=0.096, pause_events=True)
    # speech, a short pause (5 chunks = 160 ms), speech again, then silence to the endpoint
    pcm = chunks(5, False) + chunks(10, True) + chunks(5, False) + chunks(10, True) + chunks(30, False)
    events = run(ep, pcm)
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechResumed, SpeechPaused, SpeechEnded]
    last_pause = events[3]
    ended = events[4]
    assert isinstance(last_pause, SpeechPaused) and isinstance(ended, SpeechEnded)
    assert last_pause.pcm == ended.pcm  # a decode started at the pause is valid at the endpoint


def test_end_now_ends_at_the_trailing_silence() -> None:
    ep = make(end_silence_s=0.6, pre_roll_s=0.0, post_roll_s=0.0)
    assert ep.end_now() is None
    run(ep, chunks(5, False) + chunks(10, True) + chunks(10, False))
    assert ep.silence_s == pytest.approx(10 * CHUNK / RATE)
    ended = ep.end_now()
    assert ended is not None and ended.reason == "early"
    assert ended.end_s == pytest.approx(15 * CHUNK / RATE)
    assert ep.end_now() is None and not ep.in_speech


def test_start_and_end_times_are_exact() -> None:
    ep = make(min_speech_s=0.1, end_silence_s=0.6, pre_roll_s=0.0, post_roll_s=0.0)
    pcm = chunks(10, False) + chunks(20, True) + chunks(30, False)
    events = run(ep, pcm)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    started, ended = events
    assert started.time_s == pytest.approx(10 * CHUNK / RATE)
    assert started.detected_s == pytest.approx(14 * CHUNK / RATE)  # 4 chunks = 0.128 s >= 0.1 s
    assert ended.start_s == pytest.approx(10 * CHUNK / RATE)
    assert ended.end_s == pytest.approx(30 * CHUNK / RATE)
    # 0.6 s of silence needs 19 chunks (0.608 s): the end is decided then, not later.
    assert ended.detected_s == pytest.approx(49 * CHUNK / RATE)
    assert ended.reason == "silence"
    assert ended.pcm == pcm[10 * CHUNK * 2 : 30 * CHUNK * 2]


def test_pre_and_post_roll_audio() -> None:
    ep = make(pre_roll_s=0.064, post_roll_s=0.064)
    pcm = chunks(10, False) + chunks(20, True) + chunks(30, False)
    ended = next(e for e in run(ep, pcm) if isinstance(e, SpeechEnded))
    assert ended.pcm == pcm[8 * CHUNK * 2 : 32 * CHUNK * 2]


def test_result_independent_of_feed_size() -> None:
    pcm = chunks(7, False) + chunks(9, True) + chunks(25, False) + chunks(40, True) + chunks(25, False)
    reference = run(make(), pcm, step=320)
    for step in (2, 98, 512, 4000, len(pcm)):
        assert run(make(), pcm, step=step) == reference
    assert sum(isinstance(e, SpeechEnded) for e in reference) == 2


def test_blip_shorter_than_min_speech_is_ignored() -> None:
    ep = make(min_speech_s=0.1)
    assert run(ep, chunks(10, False) + chunks(3, True) + chunks(40, False)) == []  # 96 ms < 100 ms


def test_short_answer_ends_quickly() -> None:
    """A 0.2 s "好" ends exactly end_silence_s (rounded up to a chunk) after its last speech chunk."""
    ep = make(end_silence_s=0.3)
    events = run(ep, chunks(5, False) + chunks(6, True) + chunks(30, False))
    ended = next(e for e in events if isinstance(e, SpeechEnded))
    assert ended.detected_s - ended.end_s == pytest.approx(10 * CHUNK / RATE)  # 0.32 s


def test_pause_shorter_than_end_silence_keeps_utterance() -> None:
    ep = make(end_silence_s=0.6)
    events = run(
        ep, chunks(5, False) + chunks(10, True) + chunks(15, False) + chunks(10, True) + chunks(25, False)
    )
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert events[1].duration_s == pytest.approx(35 * CHUNK / RATE)


def test_max_utterance_length_cuts_and_restarts() -> None:
    ep = make(max_utterance_s=2.0, min_speech_s=0.1)
    events = run(ep, chunks(200, True))  # 6.4 s of continuous speech
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(ended) == 3 and all(e.reason == "max_length" for e in ended)
    assert ended[0].duration_s == pytest.approx(63 * CHUNK / RATE)  # first chunk boundary >= 2.0 s
    assert ended[0].end_s == pytest.approx(63 * CHUNK / RATE)
    assert sum(isinstance(e, SpeechStarted) for e in events) == 4
    assert ep.in_speech
    flushed = ep.flush()
    assert len(flushed) == 1 and flushed[0].reason == "flush" and not ep.in_speech


def test_no_input_fires_once_at_deadline() -> None:
    ep = make()
    run(ep, chunks(10, False))
    ep.arm_no_input(2.0)  # deadline at 0.32 + 2.0 s
    events = run(ep, chunks(150, False))
    assert len(events) == 1 and isinstance(events[0], ListenTimeout)
    assert events[0].timeout_s == 2.0
    assert events[0].time_s == pytest.approx(73 * CHUNK / RATE)  # first chunk end >= 2.32 s


def test_speech_cancels_no_input() -> None:
    ep = make()
    ep.arm_no_input(1.0)
    events = run(ep, chunks(10, False) + chunks(10, True) + chunks(100, False))
    assert not any(isinstance(e, ListenTimeout) for e in events)
    ep.arm_no_input(0.5)  # re-armed for the next question
    events = run(ep, chunks(30, False))
    assert [type(e) for e in events] == [ListenTimeout]


def test_speech_candidate_at_deadline_is_not_no_input() -> None:
    ep = make(min_speech_s=0.1)
    ep.arm_no_input(1.0)
    # speech begins at chunk 30 (0.96 s) and is confirmed at 1.088 s, after the deadline
    events = run(ep, chunks(30, False) + chunks(10, True) + chunks(30, False))
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]


def test_disarm_and_reset() -> None:
    ep = make()
    ep.arm_no_input(0.5)
    ep.disarm_no_input()
    assert run(ep, chunks(40, False)) == []
    assert ep.time_s == pytest.approx(40 * CHUNK / RATE)
    ep.reset()
    assert ep.time_s == 0.0


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        EndpointerConfig(threshold=0.3, neg_threshold=0.5)
    with pytest.raises(ValueError):
        EndpointerConfig(end_silence_s=-1)


# -- real audio through Silero ----------------------------------------------------------------------


def test_real_clips_one_utterance_each(customer_clips) -> None:  # type: ignore[no-untyped-def]
    """Every customer clip padded with 1 s of silence gives exactly one utterance, ended by silence."""
    ep = Endpointer(EndpointerConfig(end_silence_s=0.6, pause_events=False), 8000)
    for clip in customer_clips:
        ep.reset()
        events = run(ep, clip.pcm + b"\0" * 16000)
        kinds = [type(e) for e in events]
        assert kinds == [SpeechStarted, SpeechEnded], (clip.file, events)
        ended = events[1]
        assert ended.reason == "silence"
        assert 0.15 < ended.duration_s <= len(clip.pcm) / 16000
        # decided 0.6 s (rounded up to a 32 ms chunk) after the VAD's end of speech
        assert ended.detected_s - ended.end_s == pytest.approx(0.608)


def test_real_short_answer_latency(customer_clips) -> None:  # type: ignore[no-untyped-def]
    """ "好" (one syllable): the end is decided < 0.75 s after the audio's last loud sample."""
    clip = next(c for c in customer_clips if c.file == "000.wav")
    x = np.abs(np.frombuffer(clip.pcm, dtype="<i2").astype(np.int32))
    last_loud_s = np.nonzero(x > 0.05 * x.max())[0][-1] / 8000
    ep = Endpointer(EndpointerConfig(end_silence_s=0.6), 8000)
    ended = next(e for e in run(ep, clip.pcm + b"\0" * 16000) if isinstance(e, SpeechEnded))
    assert 0.5 < ended.detected_s - last_loud_s < 0.75


def test_real_two_utterances_and_pcm(customer_clips) -> None:  # type: ignore[no-untyped-def]
    a, b = customer_clips[10].pcm, customer_clips[20].pcm
    pcm = a + b"\0" * 16000 + b + b"\0" * 16000
    ep = Endpointer(EndpointerConfig(), 8000)
    ended = [e for e in run(ep, pcm) if isinstance(e, SpeechEnded)]
    assert len(ended) == 2
    assert ended[0].end_s < len(a) / 16000 < ended[1].start_s
    # utterance audio is a contiguous slice of what was fed
    assert pcm.find(ended[0].pcm) >= 0 and pcm.find(ended[1].pcm) > len(a)
