"""Shared fixtures for the TTS tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def espeak():  # type: ignore[no-untyped-def]
    """The process's espeak-ng synthesiser at 8 kHz."""
    from tts.espeak import EspeakSynthesizer

    return EspeakSynthesizer(sample_rate=8000)
