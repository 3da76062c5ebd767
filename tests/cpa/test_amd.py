"""Answering-machine detection on callees Kokoro speaks: machine greetings (with and without a beep)
against people picking up with "喂？你好" and waiting."""

from __future__ import annotations

from typing import Any

import pytest

from sip_peers.greetings import HUMAN_PICKUPS, MACHINE_GREETINGS, machine_audio, pickup_audio, voices
from waihu.cpa.amd import AnsweringMachineDetector
from waihu.cpa.announcements import feed_all
from waihu.cpa.tones import silence, tone

pytestmark = pytest.mark.models


def detect(recognizer: Any, pcm: bytes) -> AnsweringMachineDetector:
    return feed_all(AnsweringMachineDetector(recognizer), pcm)


@pytest.mark.parametrize("index", range(len(MACHINE_GREETINGS)))
def test_machine_greetings_are_machines(recognizer: Any, announce: Any, index: int) -> None:
    voice = voices()[index % len(voices())]
    detector = detect(recognizer, machine_audio(MACHINE_GREETINGS[index], voice, beep=index % 2 == 1))
    assert detector.decision is not None and detector.decision.kind == "machine", (
        detector.decision,
        detector.transcripts,
    )


@pytest.mark.parametrize("index", range(len(HUMAN_PICKUPS)))
def test_people_picking_up_are_human(recognizer: Any, announce: Any, index: int) -> None:
    voice = voices()[index % len(voices())]
    detector = detect(recognizer, pickup_audio(HUMAN_PICKUPS[index], voice))
    assert detector.decision is not None and detector.decision.kind == "human", (
        detector.decision,
        detector.transcripts,
    )


def test_a_beep_alone_is_a_machine_and_silence_is_a_person(recognizer: Any) -> None:
    beep = detect(recognizer, silence(0.5) + tone(1000.0, 0.5) + silence(2.0))
    assert beep.decision is not None and (beep.decision.kind, beep.decision.reason) == ("machine", "beep")
    assert beep.decision.beep_at_s is not None
    quiet = detect(recognizer, silence(4.0))
    assert quiet.decision is not None and (quiet.decision.kind, quiet.decision.reason) == ("human", "silence")
