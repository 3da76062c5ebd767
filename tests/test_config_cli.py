"""One configuration object: every WAIHU_* variable read once, typed, shown by `waihu config`."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.test_cli import waihu
from waihu_env import Environment, reload_environment

pytestmark = pytest.mark.unit


def test_waihu_config_lists_every_variable_and_hides_passwords() -> None:
    shown = waihu("config", env={"WAIHU_DATABASE_URL": "postgresql+psycopg://waihu:s3cret@db/waihu"})
    assert shown.returncode == 0, shown.stderr
    for name in Environment.model_fields:
        assert f"WAIHU_{name.upper()}" in shown.stdout
    assert "s3cret" not in shown.stdout and "waihu:***@db" in shown.stdout


def test_a_bad_value_names_its_variable() -> None:
    refused = waihu("config", env={"WAIHU_BACKGROUND": "maybe"})
    assert refused.returncode == 2 and "WAIHU_BACKGROUND" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_values_are_typed_and_read_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WAIHU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WAIHU_WEBHOOK_ALLOW_HTTP", "yes")
    monkeypatch.setenv("WAIHU_MODELS_DIR", "")  # empty counts as unset
    env = reload_environment()
    assert env.data_dir == tmp_path and env.webhook_allow_http is True
    assert env.speech_models_dir == tmp_path / "models"
    monkeypatch.setenv("WAIHU_DATA_DIR", str(tmp_path / "later"))
    from nlu.paths import data_dir

    assert data_dir() == tmp_path  # read once: a change after start-up needs a reload
    assert reload_environment().data_dir == tmp_path / "later"
    monkeypatch.setenv("WAIHU_TTS", "festival")
    with pytest.raises(ValidationError, match="tts"):
        reload_environment()
