"""On-disk prompt cache: synthesised prompts stored as WAV files keyed by content hash."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from tts.audio import read_wav, resample, write_wav
from tts.base import Audio, Synthesizer

log = logging.getLogger(__name__)


def cache_key(text: str, voice: str, rate: int | None, sample_rate: int, backend_version: str) -> str:
    """sha256 hex digest of everything that determines the synthesised audio."""
    payload = json.dumps(
        {"text": text, "voice": voice, "rate": rate, "sample_rate": sample_rate, "backend": backend_version},
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class PromptCache:
    """Caches a :class:`Synthesizer`'s output under ``directory`` (files ``ab/abcdef….wav``).

    Writes are atomic (temporary file + rename), so concurrent processes may share the directory.
    """

    def __init__(self, directory: str | Path, synthesizer: Synthesizer) -> None:
        self.directory = Path(directory)
        self.synthesizer = synthesizer
        self.hits = 0
        self.misses = 0

    def path_for(self, text: str, *, language: str, rate: int | None, sample_rate: int) -> Path:
        """Where the prompt for these parameters is (or would be) stored."""
        voice = getattr(self.synthesizer, "voice_for", lambda lang: lang)(language)
        key = cache_key(text, voice, rate, sample_rate, self.synthesizer.version)
        return self.directory / key[:2] / f"{key}.wav"

    def get(
        self, text: str, *, language: str = "zh", rate: int | None = None, sample_rate: int = 8000
    ) -> Audio:
        """Return the cached prompt, synthesising (and storing) it on a miss."""
        path = self.path_for(text, language=language, rate=rate, sample_rate=sample_rate)
        if path.is_file():
            try:
                audio = read_wav(path)
                if audio.sample_rate == sample_rate:
                    self.hits += 1
                    return audio
            except (OSError, EOFError, ValueError) as exc:  # a damaged file: synthesise again
                log.warning("ignoring unreadable cached prompt %s: %s", path, exc)
        self.misses += 1
        audio = resample(self.synthesizer.synthesize(text, language=language, rate=rate), sample_rate)
        write_wav(path, audio)
        return audio
