"""Answering machines over real SIP: baresip answers with a voicemail greeting and a beep; the robot
recognises the machine, leaves the campaign's message after the beep (or hangs up), outcome ``voicemail``.
A person's "喂，你好" is still a conversation."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from sip_peers.greetings import machine_audio, pickup_audio
from sip_peers.peers import Baresip, write_pcm_wav
from tests.conftest import MINIMAL_FLOW
from tests.telephony.test_dial_conversation import _dial

pytestmark = pytest.mark.sip


@pytest.fixture(scope="module")
def kokoro_ready() -> None:
    from tts.kokoro_data import is_prepared

    if not is_prepared():
        pytest.skip("Kokoro is not prepared: run `waihu models prepare --only kokoro`")


def call(tmp_path: Path, callee_pcm: bytes, **kwargs: object) -> dict:  # type: ignore[type-arg]
    """``waihu dial`` (the minimal flow) to baresip answering with ``callee_pcm``."""
    flow = tmp_path / "mini.yaml"
    flow.write_text(MINIMAL_FLOW, encoding="utf-8")
    # baresip hangs up when its file ends: room for the robot's message after the greeting.
    wav = write_pcm_wav(tmp_path / "callee.wav", callee_pcm + bytes(8000 * 2 * 25))
    with Baresip(tmp_path, wav) as callee:
        return _dial(tmp_path, callee.uri, flow, variables={}, **kwargs)


def robot_channel(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        stereo = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return stereo[:, 1].astype(np.float64)


def test_machine_with_beep_gets_the_message_after_the_beep(tmp_path: Path, kokoro_ready: None) -> None:
    greeting = machine_audio("您好，我现在不方便接听电话，请在提示音后留言。", "zf_xiaoni", beep=True)
    report = call(tmp_path, greeting, voicemail="message", voicemail_message="您好，这里是星河银行，请回电。")
    assert report["outcome"] == "voicemail", report
    assert report["voicemail"]["message_left"] is True and report["hangup_by"] == "robot"
    assert report["voicemail"]["reason"] in ("beep", "keyword", "long_greeting")
    robot = robot_channel(str(report["recording_path"]))
    # The greeting, the beep and a little more pass first; the message comes after (robot audio there).
    beep_end_s = len(greeting) / 16000 - 3.0
    after = robot[int(beep_end_s * 8000) :]
    assert after.size > 8000 and np.sqrt(np.mean(after**2)) > 300


def test_machine_without_beep_is_hung_up_on(tmp_path: Path, kokoro_ready: None) -> None:
    greeting = machine_audio(
        "您好，机主暂时无法接听您的电话，请留言，我会尽快回复。", "zm_yunjian", beep=False
    )
    report = call(tmp_path, greeting, voicemail="hangup")
    assert report["outcome"] == "voicemail" and report["hangup_by"] == "robot", report
    assert report["voicemail"]["message_left"] is False


def test_a_person_picking_up_is_a_conversation(tmp_path: Path, kokoro_ready: None) -> None:
    report = call(tmp_path, pickup_audio("喂，你好。", "zm_yunxi"), voicemail="hangup")
    assert report["outcome"] == "answered" and report["voicemail"] is None, report
