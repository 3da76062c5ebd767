"""Shared fixtures for the ASR tests: the customer_zh clips and session-scoped models."""

from __future__ import annotations

import os
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

#: ``WAIHU_CUSTOMER_ZH`` may point at another clip library (same manifest layout) to compare sets.
CUSTOMER_ZH_ENV = "WAIHU_CUSTOMER_ZH"
POCKETSPHINX_DATA = Path("/usr/share/pocketsphinx/test/data")


@dataclass(frozen=True)
class Clip:
    """One manifest row with its audio."""

    file: str
    intent: str
    text: str
    pcm: bytes
    sample_rate: int


def read_pcm(path: Path) -> tuple[bytes, int]:
    """16-bit mono WAV → (pcm, rate)."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return w.readframes(w.getnframes()), w.getframerate()


@pytest.fixture(scope="session")
def customer_clips() -> list[Clip]:
    """Every clip of the project's own Mandarin customer voices (synthesised on first use)."""
    from waihu.voice.customer_audio import customer_library

    library = Path(os.environ[CUSTOMER_ZH_ENV]) if os.environ.get(CUSTOMER_ZH_ENV) else customer_library()
    manifest = library / "manifest.tsv"
    clips = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        file, intent, text, *_ = line.split("\t")
        pcm, rate = read_pcm(library / file)
        clips.append(Clip(file, intent, text, pcm, rate))
    return clips


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models directory for the session (``$WAIHU_MODELS_DIR`` to reuse an assembled model)."""
    env = os.environ.get("WAIHU_MODELS_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def librivox_clips() -> list[tuple[bytes, str]]:
    """(16 kHz PCM, transcript) of the 5 LibriVox sentences in Debian's pocketsphinx-testdata."""
    transcription = POCKETSPHINX_DATA / "librivox" / "transcription"
    if not transcription.is_file():
        pytest.skip("Debian package pocketsphinx-testdata not installed")
    out = []
    for line in transcription.read_text().splitlines():
        m = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
        if m:
            pcm, rate = read_pcm(POCKETSPHINX_DATA / "librivox" / f"{m.group(2)}.wav")
            assert rate == 16000
            out.append((pcm, m.group(1)))
    assert len(out) == 5
    return out
