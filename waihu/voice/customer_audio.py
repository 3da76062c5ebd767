"""The project's own customer voices: a clip library synthesised at set-up, never read from elsewhere.

Demo customers and test audio speak the lines of ``demo/customer_zh.tsv`` (intent, text) in Kokoro
voices that are *not* the robot's, round-robin, so that a recogniser tuned to the robot's voice gains
nothing. The library is a directory with ``manifest.tsv`` (file, intent, text, voice, seconds) and
8 kHz 16-bit mono WAV files, the layout :func:`waihu.voice.customer.clip_library` reads. It is rebuilt
only when the lines, the voices or the synthesiser change (a fingerprint in the manifest's header).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from tts.audio import resample, write_wav
from tts.base import Audio, Synthesizer

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
#: What the customers say (intent, text).
CUSTOMER_LINES = ROOT / "demo" / "customer_zh.tsv"
#: Mandarin Kokoro voices the customers speak with (the robot's default is zf_xiaoyi).
CUSTOMER_VOICES: tuple[str, ...] = ("zm_yunxi", "zf_xiaobei", "zm_yunjian", "zf_xiaoni", "zm_yunyang")
SAMPLE_RATE = 8000
#: Silence around each clip, as a phone call has before and after an answer.
LEAD_S = 0.3
TAIL_S = 0.3


def read_lines(path: Path = CUSTOMER_LINES) -> list[tuple[str, str]]:
    """(intent, text) rows of a lines file; ``#`` comments and blank lines are skipped."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if not row or row[0].startswith("#") or len(row) < 2:
                continue
            rows.append((row[0].strip(), row[1].strip()))
    return rows


def _fingerprint(lines: Sequence[tuple[str, str]], voices: Sequence[str], version: str) -> str:
    digest = hashlib.sha256()
    for intent, text in lines:
        digest.update(f"{intent}\t{text}\n".encode())
    digest.update(("|".join(voices) + "|" + version).encode())
    return digest.hexdigest()[:16]


def _stamp_of(manifest: Path) -> str | None:
    if not manifest.is_file():
        return None
    first = manifest.read_text(encoding="utf-8").split("\n", 1)[0]
    marker = "fingerprint="
    return first.split(marker, 1)[1].split()[0] if marker in first else None


def _padded(audio: Audio) -> Audio:
    phone = resample(audio, SAMPLE_RATE)
    lead = bytes(int(LEAD_S * SAMPLE_RATE) * 2)
    tail = bytes(int(TAIL_S * SAMPLE_RATE) * 2)
    return Audio(lead + phone.pcm + tail, SAMPLE_RATE)


def ensure_clip_library(
    directory: Path,
    synthesizer_for: Callable[[str], Synthesizer],
    *,
    lines: Sequence[tuple[str, str]] | None = None,
    voices: Sequence[str] = CUSTOMER_VOICES,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Synthesise the customer clip library into ``directory`` unless it is already up to date.

    ``synthesizer_for(voice)`` gives the synthesiser of one customer voice; line *i* is spoken by
    ``voices[i % len(voices)]``. Returns ``directory``. Files are written first and the manifest last
    (atomically), so an interrupted build is redone on the next call.
    """
    rows = list(lines if lines is not None else read_lines())
    synths = {voice: synthesizer_for(voice) for voice in voices}
    version = "+".join(sorted({s.version for s in synths.values()}))
    stamp = _fingerprint(rows, voices, version)
    manifest = directory / "manifest.tsv"
    if _stamp_of(manifest) == stamp:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    header = "# file\tintent\ttext\tvoice\tseconds — 8 kHz mono, waihu's own Kokoro voices"
    out = [f"{header}; fingerprint={stamp}"]
    for i, (intent, text) in enumerate(rows):
        voice = voices[i % len(voices)]
        audio = _padded(synths[voice].synthesize(text, language="zh"))
        name = f"{i:03d}.wav"
        write_wav(directory / name, audio)
        out.append(f"{name}\t{intent}\t{text}\t{voice}\t{audio.duration_s:.2f}")
        if progress is not None:
            progress(i + 1, len(rows))
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    os.replace(tmp, manifest)
    log.info("customer clip library: %d clips in %s", len(rows), directory)
    return directory


def default_library_dir() -> Path:
    """Where set-up puts the customer clip library (under the data directory)."""
    from nlu.paths import data_dir

    return data_dir() / "customer_zh"


class CustomerVoicesUnavailable(RuntimeError):
    """The neural voice is not prepared: customers in espeak-ng would be unintelligible."""


def kokoro_voice(voice: str) -> Synthesizer:
    """A Kokoro synthesiser speaking Mandarin with ``voice`` (never the espeak-ng fallback)."""
    from tts.kokoro_data import is_prepared

    if not is_prepared():
        raise CustomerVoicesUnavailable(
            "the customers' voices need the Kokoro model: run `waihu models prepare` (make setup does)"
        )
    from tts import default_synthesizer

    return default_synthesizer("zh", voice)


def customer_library(progress: Callable[[int, int], None] | None = None) -> Path:
    """The demo and test customers' clip library, synthesised on first use (cached under the data dir)."""
    return ensure_clip_library(default_library_dir(), kokoro_voice, progress=progress)
