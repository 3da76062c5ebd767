"""Fixtures for call progress analysis: the recogniser calls use, and announcements made by Kokoro."""

from __future__ import annotations

from typing import Any

import pytest


def _need_kokoro() -> None:
    from tts.kokoro_data import is_prepared

    if not is_prepared():
        pytest.skip("Kokoro is not prepared: run `waihu models prepare --only kokoro`")


@pytest.fixture(scope="session")
def recognizer() -> Any:
    """Whisper-base as the worker builds it for a Mandarin flow."""
    from waihu.voice.call_builder import default_recognizer

    return default_recognizer("zh")


@pytest.fixture(scope="session")
def announce() -> Any:
    """``announce(item, voice)`` → 8 kHz PCM of a carrier announcement (synthesised once, cached)."""
    _need_kokoro()
    from sip_peers.early_media import synthesise

    return synthesise
