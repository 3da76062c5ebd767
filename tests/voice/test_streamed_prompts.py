"""A prompt plays as soon as its first clause is synthesised; the rest follows when ready (fast tier)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dialog.actions import Say
from dialog.loader import load_flow_text
from nlu.rules import RuleClassifier
from tests.conftest import MINIMAL_FLOW
from tests.fakes import EnergyVad, ScriptedRecognizer, ToneSynthesizer
from tts.kokoro import split_clauses
from waihu.voice.call_builder import CallSpec, SpeechParts, build_call
from waihu.voice.speech_output import SpeechOutput, fixed_texts

pytestmark = pytest.mark.unit
SILENCE = bytes(320)
PROMPT = "{name}您好，您本期账单{amount}元，现在可以申请分期。"


class HeldRunner:
    """A runner whose jobs run only when the test releases them."""

    clock_stops = False

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = []

    def submit(self, job: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.jobs.append((job, future))
        return future

    def release(self) -> None:
        for job, future in self.jobs:
            future.set_result(job())
        self.jobs.clear()


def test_streamed_audio_is_the_whole_prompt_split_after_its_first_clause(tmp_path: Path) -> None:
    speech = SpeechOutput(ToneSynthesizer(), tmp_path, language="zh")
    say = Say("张三您好，您本期账单一万元，现在可以申请分期。")
    runner = HeldRunner()
    streamed = speech.render_streamed(say, runner.submit)
    first = split_clauses(say.text)[0]
    assert streamed.rest is not None and not streamed.rest.done()
    assert streamed.first.pcm == speech._clause_pcm(first.text, first.pause_s)
    runner.release()
    assert streamed.first.pcm + streamed.rest.result().pcm == speech.render(say).pcm
    one = speech.render_streamed(Say("好的。"), runner.submit)  # one clause: whole, nothing left
    assert one.rest is None and not runner.jobs


def test_the_greeting_plays_its_first_clause_while_the_rest_is_synthesised(tmp_path: Path) -> None:
    flow = load_flow_text(MINIMAL_FLOW.replace('"{name}您好，需要办理吗？"', f'"{PROMPT}"')).flow
    assert flow is not None
    parts = SpeechParts(
        RuleClassifier.from_flow(flow), ScriptedRecognizer([]), ToneSynthesizer(), tmp_path, EnergyVad
    )
    runner = HeldRunner()
    loop = build_call(CallSpec(flow, {"name": "张三", "amount": "12000"}), parts, runner=runner).loop  # type: ignore[arg-type]
    loop.start()
    first_clause_frames = int(0.06 * len("张三您好，") / 0.02)  # the tone voice: 60 ms per character
    heard = [loop.step(SILENCE) for _ in range(first_clause_frames)]
    assert all(frame != SILENCE for frame in heard[:-1]) and runner.jobs  # playing before the rest exists
    waiting = [loop.step(SILENCE) for _ in range(50)]  # the rest is late: silence, still the robot's turn
    assert waiting[-10:] == [SILENCE] * 10 and loop.robot_speaking
    runner.release()
    rest = [loop.step(SILENCE) for _ in range(40)]
    assert sum(frame != SILENCE for frame in rest) >= 30  # the later clauses play once ready


def test_warm_up_covers_the_fixed_clauses_of_prompts_with_variables() -> None:
    flow = load_flow_text(MINIMAL_FLOW.replace('"{name}您好，需要办理吗？"', f'"{PROMPT}"')).flow
    assert flow is not None
    texts = fixed_texts(flow)
    assert "现在可以申请分期。" in texts and not any("{" in text for text in texts)
