"""waihu speech synthesis: Synthesizer protocol, Kokoro and espeak-ng backends, prompt cache, recordings.

Importing this package is cheap: onnxruntime, misaki, pyttsx3/espeak-ng and soxr are imported lazily.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tts.base import Audio, Synthesizer
from waihu_env import environment

if TYPE_CHECKING:
    from tts.lexicon import Lexicon

__all__ = ["Audio", "Synthesizer", "default_synthesizer"]

log = logging.getLogger(__name__)

#: ``WAIHU_TTS=espeak`` forces espeak-ng; ``kokoro`` (the default) uses Kokoro when it is prepared.
TTS_ENV = "WAIHU_TTS"


def default_synthesizer(
    language: str | None = None,
    voice: str | None = None,
    *,
    lexicon: Mapping[str, str] | Lexicon | None = None,
    speed: float | None = None,
) -> Synthesizer:
    """The synthesiser calls use: Kokoro-82M when its model is prepared, espeak-ng otherwise.

    ``voice`` (a Kokoro voice name) is used for ``language`` (default ``"zh"``); an unknown name
    raises :class:`tts.kokoro.UnknownVoiceError` listing the available voices. ``lexicon`` adds
    pronunciations (see :mod:`tts.lexicon`), ``speed`` scales Kokoro's pace. Without a prepared
    model (``waihu models prepare --only kokoro``), or with ``WAIHU_TTS=espeak``, espeak-ng 1.52 is
    returned (8 kHz output) and a warning is logged when that is a fallback; ``voice``, ``lexicon``
    and ``speed`` then do not apply.
    """
    if environment().tts == "kokoro":
        from tts.kokoro_data import is_prepared, kokoro_dir

        if is_prepared():
            from tts.kokoro import KokoroSynthesizer

            voices = {language or "zh": voice} if voice else None
            return KokoroSynthesizer(voices, speed if speed is not None else 1.0, lexicon=lexicon)
        log.warning(
            "Kokoro voice not prepared in %s (run `waihu models prepare --only kokoro`): "
            "falling back to espeak-ng, which is much harder to understand",
            kokoro_dir(),
        )
        if voice:
            log.warning("voice %r ignored: espeak-ng uses its own voices", voice)
    from tts.espeak import EspeakSynthesizer

    return EspeakSynthesizer()
