"""Round trip: espeak-ng English prompts at the phone rate, transcribed by the Whisper backend."""

from __future__ import annotations

import numpy as np
import pytest

from asr.metrics import corpus_error_rate
from tts.base import Audio

SENTENCES = [
    "Hello, this is your bank calling about your credit card.",
    "Would you like to split your bill into monthly payments?",
    "The interest rate is zero point six percent per month.",
    "Please hold while I transfer you to an agent.",
    "Thank you for your time, goodbye.",
]
# Measured: WER 0.29 at 8 kHz and 0.22 at 16 kHz (espeak-ng 1.52 gmw/en-us, rate 150, Whisper-base int8
# greedy): robotic but intelligible. Time-reversed audio (same spectrum, no words) gave WER 1.2, so
# the bound separates intelligible speech from noise.
WER_BOUND = 0.45


@pytest.fixture(scope="session")
def whisper_en(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import os
    from pathlib import Path

    from asr.whisper_backend import WhisperConfig, WhisperRecognizer, assemble_whisper_base

    models = Path(os.environ.get("WAIHU_MODELS_DIR") or tmp_path_factory.mktemp("models"))
    return WhisperRecognizer(
        WhisperConfig(model_dir=assemble_whisper_base(models), language="en", cpu_threads=2)
    )


def test_english_prompts_are_intelligible_at_8k(espeak, whisper_en) -> None:  # type: ignore[no-untyped-def]
    audios = [espeak.synthesize(s, language="en") for s in SENTENCES]
    assert all(a.sample_rate == 8000 for a in audios)
    pairs = [(s, whisper_en.transcribe(a.pcm, 8000).text) for s, a in zip(SENTENCES, audios, strict=True)]
    assert corpus_error_rate(pairs, unit="word") < WER_BOUND, pairs
    # negative control: the same audio reversed must not pass
    reversed_pairs = [
        (s, whisper_en.transcribe(Audio(np.frombuffer(a.pcm, "<i2")[::-1].tobytes(), 8000).pcm, 8000).text)
        for s, a in zip(SENTENCES[:2], audios[:2], strict=True)
    ]
    assert corpus_error_rate(reversed_pairs, unit="word") > 0.7, reversed_pairs
