"""Speculative recognition and adaptive endpointing (fast tier: energy VAD, scripted recogniser).

The decode starts at the callee's first pause; it is reused when the silence lasts to the endpoint
and discarded when the callee goes on. A confident closed answer ends the turn early.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import ScriptedRecognizer
from tests.voice.test_loop_off_media_path import SILENCE, _loop, _speak, _until_listening
from waihu.voice.loop import EARLY_END_SILENCE_S, FRAME_S, InlineRunner, VoiceLoop

pytestmark = pytest.mark.unit


def _answer(loop: VoiceLoop, parts: list[float], gap_s: float = 0.0) -> None:
    """Speak the parts (seconds each) with ``gap_s`` of silence between them, then stay silent."""
    for i, seconds in enumerate(parts):
        if i:
            for _ in range(round(gap_s / FRAME_S)):
                loop.step(SILENCE)
        _speak(loop, seconds)
    for _ in range(100):
        loop.step(SILENCE)
        if loop.timings:
            return


def test_a_guess_made_during_the_endpoint_silence_is_reused(tmp_path: Path) -> None:
    recognizer = ScriptedRecognizer(["再说一遍", "unused"])
    loop = _loop(tmp_path, recognizer, InlineRunner())
    loop.adaptive_endpointing = False
    loop.start()
    _until_listening(loop)
    _answer(loop, [0.6])
    assert loop.stats.speculations == 1 and loop.stats.speculations_used == 1
    assert recognizer.calls == 1  # one decode, started at the pause
    assert loop.timings[-1].text == "再说一遍"


def test_speech_after_a_pause_discards_the_guess(tmp_path: Path) -> None:
    recognizer = ScriptedRecognizer(["嗯嗯", "再说一遍"])  # the guess, then the whole answer
    loop = _loop(tmp_path, recognizer, InlineRunner())
    loop.adaptive_endpointing = False
    loop.start()
    _until_listening(loop)
    _answer(loop, [0.4, 0.4], gap_s=0.4)  # a pause longer than the post-roll, shorter than the endpoint
    assert loop.stats.speculations_discarded >= 1
    assert loop.timings[-1].text == "再说一遍"  # the words after the pause were heard


def test_a_confident_closed_answer_ends_the_turn_early(tmp_path: Path) -> None:
    recognizer = ScriptedRecognizer(["好的"])
    loop = _loop(tmp_path, recognizer, InlineRunner())
    loop.start()
    _until_listening(loop)
    _answer(loop, [0.5])
    assert loop.stats.early_ends == 1
    timing = loop.timings[-1]
    clock_ms = (timing.reply_start_s - timing.speech_end_s) * 1000
    assert clock_ms < 600  # the default end silence would have waited 600 ms
    assert clock_ms >= EARLY_END_SILENCE_S * 1000 - 100  # quantised to VAD chunks


def test_an_open_question_waits_for_the_full_endpoint(tmp_path: Path) -> None:
    recognizer = ScriptedRecognizer(["多少钱"])  # a side question (FAQ), not a cell of the node
    loop = _loop(tmp_path, recognizer, InlineRunner())
    loop.start()
    _until_listening(loop)
    _answer(loop, [0.5])
    assert loop.stats.early_ends == 0
    timing = loop.timings[-1]
    assert (timing.reply_start_s - timing.speech_end_s) * 1000 >= 600


@pytest.mark.parametrize("adaptive", [False, True])
def test_the_recognisers_n_best_reaches_the_nlu(tmp_path: Path, adaptive: bool) -> None:
    """The first reading has no intent; the second, close behind, is a refusal: the call hears it
    (through the speculative guess and, without it, through the endpoint's decode)."""
    n_best = [("嗯那个", -0.1), ("不用了", -0.2)]
    recognizer = ScriptedRecognizer([n_best, n_best])
    loop = _loop(tmp_path, recognizer, InlineRunner())
    loop.adaptive_endpointing = adaptive
    loop.start()
    _until_listening(loop)
    _answer(loop, [0.6])
    assert loop.timings[-1].text == "嗯那个"
    assert "no" in loop.conversation.result().tags
