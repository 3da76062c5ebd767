"""`waihu tts say TEXT [--flow FLOW] [--voice V] [--lang zh|en] --out FILE.wav` and flow voice settings."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from asr.models import default_models_dir
from dialog.loader import load_flow_file
from tests.conftest import MINIMAL_FLOW
from tests.test_cli import waihu
from tts.kokoro_data import is_prepared, prepare
from waihu.cli.tts import FlowVoiceError, load_flow_voice

FLOW_WITH_VOICE = (
    MINIMAL_FLOW
    + """
tts:
  voice: zm_yunxi
  speed: 1.1
  lexicon:
    还款: huan2 kuan3
    星河: xing4 he4
"""
)


@pytest.fixture(scope="module")
def models_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment pointing the CLI at a models directory with Kokoro prepared."""
    if is_prepared():
        return {"WAIHU_MODELS_DIR": str(default_models_dir())}
    models = tmp_path_factory.mktemp("models")
    prepare(models)
    return {"WAIHU_MODELS_DIR": str(models)}


def read_wav(path: Path) -> tuple[int, int, int, float]:
    """(rate, channels, sample width, seconds) of a WAV file."""
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes() / w.getframerate()


def test_flow_voice_settings_are_read(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW_WITH_VOICE, encoding="utf-8")
    settings = load_flow_voice(flow)
    assert settings.language == "zh" and settings.voice == "zm_yunxi" and settings.speed == 1.1
    assert settings.lexicon == {"还款": "huan2 kuan3", "星河": "xing4 he4"}
    plain = tmp_path / "plain.yaml"
    plain.write_text(MINIMAL_FLOW, encoding="utf-8")
    assert load_flow_voice(plain).voice is None and load_flow_voice(plain).lexicon == {}


def test_flow_voice_errors_keep_line_numbers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FLOW_WITH_VOICE.replace("goto: done}", "goto: don}"), encoding="utf-8")
    with pytest.raises(FlowVoiceError) as raised:
        load_flow_voice(bad)
    # the same FILE:LINE:COL problems the loader gives for the flow without its tts block
    without = tmp_path / "without.yaml"
    without.write_text(MINIMAL_FLOW.replace("goto: done}", "goto: don}"), encoding="utf-8")
    problems = [p.format().replace(str(without), str(bad)) for p in load_flow_file(without).errors]
    assert problems and str(raised.value) == "\n".join(problems)
    assert "'don' is not a node" in str(raised.value)
    typo = tmp_path / "typo.yaml"
    typo.write_text(MINIMAL_FLOW + "tts:\n  voise: zm_yunxi\n", encoding="utf-8")
    with pytest.raises(FlowVoiceError, match="unknown tts key"):
        load_flow_voice(typo)


@pytest.mark.models
def test_say_writes_an_8k_phone_wav(tmp_path: Path, models_env: dict[str, str]) -> None:
    out = tmp_path / "say.wav"
    result = waihu(
        "tts", "say", "您好，您本期账单12000元，可以分12期还款。", "--out", str(out), env=models_env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rate, channels, width, seconds = read_wav(out)
    assert (rate, channels, width) == (8000, 1, 2)
    assert 3.0 < seconds < 12.0
    assert "zf_xiaoyi" in result.stderr and "KokoroSynthesizer" in result.stderr


@pytest.mark.models
def test_say_english_with_voice(tmp_path: Path, models_env: dict[str, str]) -> None:
    out = tmp_path / "en.wav"
    result = waihu(
        "tts", "say", "Your bill is $12.50.", "--lang", "en", "--voice", "am_michael", "--out", str(out),
        env=models_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_wav(out)[0] == 8000 and "am_michael" in result.stderr


@pytest.mark.models
def test_say_with_flow_uses_its_voice(tmp_path: Path, models_env: dict[str, str]) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW_WITH_VOICE, encoding="utf-8")
    out = tmp_path / "flow.wav"
    result = waihu(
        "tts", "say", "星河银行提醒您按时还款。", "--flow", str(flow), "--out", str(out), env=models_env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "zm_yunxi" in result.stderr and read_wav(out)[0] == 8000


@pytest.mark.models
def test_bad_voice_lists_voices_and_exits_2(tmp_path: Path, models_env: dict[str, str]) -> None:
    out = tmp_path / "nope.wav"
    result = waihu("tts", "say", "您好", "--voice", "nope", "--out", str(out), env=models_env)
    assert result.returncode == 2
    assert "unknown Kokoro voice 'nope'" in result.stderr and "zf_xiaoyi" in result.stderr
    assert not out.exists()
    bad_lang = waihu("tts", "say", "hi", "--lang", "fr", "--out", str(out), env=models_env)
    assert bad_lang.returncode == 2 and "zh or en" in bad_lang.stderr
