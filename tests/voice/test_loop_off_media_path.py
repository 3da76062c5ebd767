"""Speech off the media path: a slow decode never blocks the 20 ms frame step (fast tier, fakes)."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from pathlib import Path

import pytest

from dialog.loader import load_flow_text
from nlu.rules import RuleClassifier
from tests.conftest import MINIMAL_FLOW
from tests.fakes import EnergyVad, ScriptedRecognizer, ToneSynthesizer, tone_pcm
from waihu.voice.call_builder import CallSpec, SpeechParts, build_call
from waihu.voice.loop import FRAME_S, InlineRunner, ThreadRunner, VoiceLoop

pytestmark = pytest.mark.unit
SILENCE = bytes(320)


def _loop(tmp_path: Path, recognizer: ScriptedRecognizer, runner: object) -> VoiceLoop:
    loaded = load_flow_text(MINIMAL_FLOW)
    assert loaded.flow is not None, loaded.problems
    flow = loaded.flow
    parts = SpeechParts(RuleClassifier.from_flow(flow), recognizer, ToneSynthesizer(), tmp_path, EnergyVad)
    return build_call(CallSpec(flow, {"name": "张三"}), parts, runner=runner).loop  # type: ignore[arg-type]


def _until_listening(loop: VoiceLoop) -> None:
    for _ in range(2000):
        loop.step(SILENCE)
        if loop.listen is not None and not loop.robot_speaking:
            return
        time.sleep(0.001)  # a prompt's later clauses are synthesised on the pool while it plays
    raise AssertionError("the robot never listened")


def _speak(loop: VoiceLoop, seconds: float) -> None:
    pcm = tone_pcm(700.0, seconds)
    for i in range(0, len(pcm), 320):
        loop.step(pcm[i : i + 320].ljust(320, b"\0"))


def test_frames_keep_flowing_while_an_utterance_is_decoded(tmp_path: Path) -> None:
    gate = threading.Event()
    recognizer = ScriptedRecognizer(["好的"], gate=gate)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        loop = _loop(tmp_path, recognizer, ThreadRunner(pool))
        loop.start()
        _until_listening(loop)
        _speak(loop, 0.6)
        for _ in range(200):  # end of speech: the endpoint fires and the decode starts (and hangs)
            loop.step(SILENCE)
            if loop.understanding:
                break
        assert loop.understanding
        frames_before = loop.frames
        started = time.perf_counter()
        for _ in range(50):  # one second of audio while the recogniser is stuck
            loop.step(SILENCE)
        elapsed = time.perf_counter() - started
        assert loop.frames == frames_before + 50 and loop.understanding
        assert elapsed < 5.0  # generous: the point is that step() did not wait on the 10 s gate
        gate.set()
        for _ in range(500):
            loop.step(SILENCE)
            if loop.robot_speaking:
                break
            time.sleep(0.01)  # real time for the pool thread to finish
        assert loop.robot_speaking and not loop.understanding
    assert recognizer.calls == 1
    timing = loop.timings[-1]
    assert timing.text == "好的" and not timing.compute_outside_clock
    # The reply started after the frames stepped meanwhile: the latency counts them on the clock.
    assert timing.latency_ms >= 50 * FRAME_S * 1000


def test_dtmf_during_a_decode_waits_for_the_utterance(tmp_path: Path) -> None:
    gate = threading.Event()
    recognizer = ScriptedRecognizer(["再说一遍"], gate=gate)  # repeat: the call goes on
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        loop = _loop(tmp_path, recognizer, ThreadRunner(pool))
        loop.start()
        _until_listening(loop)
        _speak(loop, 0.6)
        while not loop.understanding:
            loop.step(SILENCE)
        responses = loop.responses
        loop.dtmf("1")
        assert loop.responses == responses  # deferred: the engine is busy with the utterance
        gate.set()
        for _ in range(500):
            loop.step(SILENCE)
            if not loop.understanding:
                break
            time.sleep(0.01)
        assert loop.responses == responses + 2  # the utterance, then the key


def test_simulation_is_inline_and_adds_compute_time(tmp_path: Path) -> None:
    recognizer = ScriptedRecognizer(["好的"])
    loop = _loop(tmp_path, recognizer, InlineRunner())
    loop.start()
    _until_listening(loop)
    _speak(loop, 0.6)
    for _ in range(200):
        loop.step(SILENCE)
        assert not loop.understanding  # inline: never pending across a step
        if loop.timings:
            break
    assert loop.timings and loop.timings[-1].compute_outside_clock
