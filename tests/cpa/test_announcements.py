"""The early-media detector on announcements Kokoro speaks (5 voices, 15 wordings, some after a
ring-back, some with an English sentence after the Mandarin one): each lands on its class."""

from __future__ import annotations

from typing import Any

import pytest

from sip_peers.early_media import (
    ANNOUNCEMENTS,
    ANNOUNCER_VOICES,
    NOT_ANNOUNCEMENTS,
    busy_tone_audio,
    early_media_audio,
)
from waihu.cpa.announcements import AnnouncementDetector, feed_all
from waihu.cpa.tones import ringback

pytestmark = pytest.mark.models


def run_detector(recognizer: Any, pcm: bytes) -> AnnouncementDetector:
    return feed_all(AnnouncementDetector(recognizer), pcm)


@pytest.mark.parametrize("index", range(len(ANNOUNCEMENTS)))
def test_each_announcement_lands_on_its_class(recognizer: Any, announce: Any, index: int) -> None:
    item = ANNOUNCEMENTS[index]
    voice = ANNOUNCER_VOICES[index % len(ANNOUNCER_VOICES)]
    pcm = early_media_audio(announce(item, voice), ringback_cycles=index % 2)
    detector = run_detector(recognizer, pcm)
    assert detector.decision is not None, (item, detector.transcripts)
    assert detector.decision.outcome == item.label, (item, detector.transcripts)
    assert detector.decision.source == "speech"
    if index % 2:
        assert detector.ringback_heard


@pytest.mark.parametrize("index", range(len(NOT_ANNOUNCEMENTS)))
def test_colour_ringback_speech_decides_nothing(recognizer: Any, announce: Any, index: int) -> None:
    pcm = early_media_audio(announce(NOT_ANNOUNCEMENTS[index], ANNOUNCER_VOICES[index]), ringback_cycles=1)
    detector = run_detector(recognizer, pcm)
    assert detector.decision is None, detector.transcripts


def test_ringback_alone_decides_nothing_and_busy_tone_is_busy(recognizer: Any) -> None:
    detector = run_detector(recognizer, ringback(3))
    assert detector.decision is None and detector.tones.ringbacks == 3
    detector = run_detector(recognizer, busy_tone_audio())
    assert detector.decision is not None
    assert (detector.decision.outcome, detector.decision.source) == ("busy", "tone")
