"""Robot speech as WAV for the browser: the same TTS and prompt cache the calls use."""

from __future__ import annotations

import threading
from pathlib import Path

from dialog.actions import Say
from tts.audio import wav_bytes
from waihu.voice.speech_output import SpeechOutput


class SpeechRenderer:
    """Renders text to phone-quality WAV per language; one synthesis at a time (espeak is not reentrant)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._outputs: dict[str, SpeechOutput] = {}
        self._lock = threading.Lock()

    def _output(self, language: str) -> SpeechOutput:
        if language not in self._outputs:
            from nlu.paths import data_dir
            from waihu.voice.call_builder import default_synthesizer

            cache_dir = self.cache_dir or data_dir() / "cache" / "prompts"
            self._outputs[language] = SpeechOutput(default_synthesizer(), cache_dir, language=language)
        return self._outputs[language]

    def wav(self, text: str, language: str) -> bytes:
        """A complete WAV file of ``text`` spoken in ``language``."""
        with self._lock:
            return wav_bytes(self._output(language).render(Say(text)))
