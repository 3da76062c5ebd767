"""`waihu dial` end to end: a real SIP call to baresip playing a customer, the flow run on it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from dialog.actions import Say
from dialog.loader import load_flow
from nlu.paths import data_dir
from sip_peers.peers import Baresip, Sipp, free_udp_port, tone, write_pcm_wav, write_ulaw_for_sipp
from tests.conftest import FLOWS, MINIMAL_FLOW
from tests.telephony.conftest import run
from tests.telephony.test_sip_transfer import _seat_summary
from tts.recorded import load_recorded
from waihu.cli.dial import dial_once
from waihu.voice.call_builder import default_synthesizer
from waihu.voice.customer import clip_library
from waihu.voice.customer_audio import customer_library
from waihu.voice.speech_output import SpeechOutput, fixed_texts

VARS = {"name": "张先生", "amount": "12000"}


def _clip(text: str) -> bytes:
    return load_recorded(clip_library(customer_library())[text], 8000).pcm


def _seconds(pcm: bytes) -> float:
    return len(pcm) / 16000


def _prompt_s(text: str) -> float:
    speech = SpeechOutput(default_synthesizer(), data_dir() / "cache" / "prompts", language="zh")
    return speech.render(Say(text)).duration_s


def _customer(tmp_path: Path, turns: list[tuple[float, str]], tail_s: float = 15.0) -> Path:
    """A WAV with each clip starting at its time (seconds after answer), silence elsewhere."""
    pcm = b""
    for start, text in turns:
        pcm += bytes(max(0, int((start - _seconds(pcm)) * 8000)) * 2) + _clip(text)
    return write_pcm_wav(tmp_path / "customer.wav", pcm + bytes(int(tail_s * 8000) * 2))


def _dial(tmp_path: Path, target: str, flow_path: Path, **kwargs) -> dict:  # type: ignore[type-arg]
    return run(
        dial_once(
            target,
            flow_path,
            kwargs.pop("variables", VARS),
            sip_port=free_udp_port(),
            rtp_port=free_udp_port(20),
            bind="127.0.0.1",
            caller_id="4008001234",
            ring_timeout_s=5,
            record_dir=tmp_path / "rec",
            seat=kwargs.pop("seat", None),
            transfer_mode="bridged",
            **kwargs,
        ),
        timeout_s=120,
    )


@pytest.fixture(scope="module")
def card_flow():
    """The credit-card flow, with everything the robot will say here already in the prompt cache.

    The customers' WAVs are timed against the prompts' lengths: a cold cache (a fresh clone) would
    delay the robot's first words by the neural voice's synthesis time and shift every turn.
    """
    flow = load_flow(FLOWS / "credit_card_installment.yaml")
    speech = SpeechOutput(default_synthesizer(), data_dir() / "cache" / "prompts", language="zh")
    speech.warm(fixed_texts(flow))
    values = {"bank": "星河银行", "hotline": "四零零八八八六六六六", **VARS}
    for node in flow.nodes.values():
        for text in node.prompt:
            with contextlib.suppress(KeyError, IndexError):
                speech.render(Say(text.format(**values)))
    return flow


def test_refusing_customer_over_sip(tmp_path: Path, card_flow) -> None:
    greeting = _prompt_s(card_flow.nodes["greeting"].prompt[0].format(bank="星河银行", **VARS))
    first = greeting + 0.8
    second = first + 1.2 + 2.0 + 3.0  # during the offer: a barge-in
    third = second + 1.5 + 2.0 + 3.0  # during the objection
    wav = _customer(tmp_path, [(first, "好"), (second, "不需要了"), (third, "谢谢 不用了")])
    with Baresip(tmp_path, wav) as customer:
        report = _dial(tmp_path, customer.uri, FLOWS / "credit_card_installment.yaml")
        recordings = customer.recordings()
    assert (report["outcome"], report["sip_code"]) == ("answered", 200), report
    intents = [turn["intent"] for turn in report["transcript"]]
    assert intents == ["affirm", "deny", "deny"], report["lines"]
    assert [turn["node"] for turn in report["transcript"]] == ["greeting", "offer", "objection"]
    assert (report["grade"], report["hangup_by"], report["conversation_outcome"]) == (
        "D",
        "robot",
        "robot_hangup",
    )
    assert any(event["kind"] == "barge_in" for event in report["events"])
    assert report["duration_s"] > third and len(report["latencies_ms"]) == 3
    # Our stereo recording has both sides, and the customer's side recorded what the robot said.
    from tests.telephony.test_sip_media import _stereo

    stereo = _stereo(report["recording_path"])
    assert abs(stereo[:, 0]).max() > 1000 and abs(stereo[:, 1]).max() > 1000
    assert recordings, "baresip recorded nothing"


def test_dtmf_answers_the_question(tmp_path: Path) -> None:
    flow_path = tmp_path / "dtmf.yaml"
    flow_path.write_text(
        MINIMAL_FLOW.replace(
            "      deny: {tags: [no], next: bye}\n",
            "      deny: {tags: [no], next: bye}\n    dtmf: {'1': affirm, '2': deny}\n",
        ),
        encoding="utf-8",
    )
    wav = write_pcm_wav(tmp_path / "silent.wav", bytes(8000 * 2 * 15))
    with Baresip(tmp_path, wav) as customer:
        import threading

        timer = threading.Timer(2.5, customer.send, args=("1",))
        timer.start()
        try:
            report = _dial(tmp_path, customer.uri, flow_path, variables={}, classifier_kind="rules")
        finally:
            timer.cancel()
    assert report["transcript"][0]["kind"] == "dtmf" and report["transcript"][0]["intent"] == "affirm", report
    assert report["grade"] == "A" and report["hangup_by"] == "robot"


def test_transfer_to_a_seat_with_the_summary(tmp_path: Path, card_flow) -> None:
    greeting = _prompt_s(card_flow.nodes["greeting"].prompt[0].format(bank="星河银行", **VARS))
    wav = _customer(tmp_path, [(greeting + 0.8, "好"), (greeting + 6.0, "我要找客服")], tail_s=20)
    seat_dir = tmp_path / "seat"
    seat_dir.mkdir()
    seat_audio = write_ulaw_for_sipp(tmp_path / "seat.ulaw", tone(1200, 2.0))
    # sipp's clock runs from its start: loading the models on a busy machine can take most of 30 s.
    seat_peer = Sipp("uas_seat.xml", seat_dir, wav=seat_audio, timeout_s=120)
    with Baresip(tmp_path, wav) as customer, seat_peer as seat:
        report = _dial(
            tmp_path, customer.uri, FLOWS / "credit_card_installment.yaml", seat=seat.uri_for("seat1")
        )
        summary = _seat_summary(seat)
    assert [turn["intent"] for turn in report["transcript"]] == ["affirm", "ask_human"], report["lines"]
    assert report["transfer"] and report["transfer"]["seat_answered"], report
    assert report["conversation_outcome"] == "transferred" and report["grade"] == "A"
    assert summary["name"] == "张先生" and summary["grade"] == "A" and "asked_human" in summary["tags"]
