"""Every ``WAIHU_*`` environment variable, read once into one typed, validated object.

The innermost package: the engine, NLU, speech, telephony and the service read their settings here
instead of calling ``os.environ`` themselves, so one place documents every variable and a bad value
(``WAIHU_BACKGROUND=maybe``) fails at start-up with the variable's name, not deep inside a call.

    from waihu_env import environment
    environment().data_dir

The object is built at the first call and kept for the life of the process (the service, a
worker and the CLI are started with their environment). Tests that change a variable call
:func:`reload_environment`.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/waihu.db"


class Environment(BaseSettings):
    """The ``WAIHU_*`` variables (the field name upper-cased, prefixed with ``WAIHU_``).

    Booleans accept 1/0, true/false, yes/no, on/off.
    """

    model_config = SettingsConfigDict(env_prefix="WAIHU_", extra="ignore", frozen=True, env_ignore_empty=True)

    # --- where things live
    data_dir: Path = Field(
        default=Path.home() / ".local" / "share" / "waihu",
        description="Converted models, prompt caches, demo data (default ~/.local/share/waihu).",
    )
    models_dir: Path | None = Field(default=None, description="Speech models; default <data_dir>/models.")

    # --- speech
    tts: Literal["kokoro", "espeak"] = Field(default="kokoro", description="The robot's voice engine.")
    asr: Literal["whisper", "vosk"] = Field(default="whisper", description="The recogniser of calls.")
    vosk_model: Path | None = Field(default=None, description="A vosk model directory (WAIHU_ASR=vosk).")
    vosk_grammar: bool = Field(default=False, description="Restrict vosk to the flow's phrases.")

    # --- telephony workers
    sip_password: SecretStr | None = Field(
        default=None, description="Digest password of the worker's trunk registration (never shown)."
    )

    # --- the speech service
    speech_url: str | None = Field(
        default=None,
        description="The host's speech service (waihu speech serve), e.g. http://127.0.0.1:7070.",
    )
    warm_prompts: Literal["auto", "local", "off"] = Field(
        default="auto",
        description="Synthesise a flow's fixed prompts at upload: auto = on the speech service if set.",
    )

    # --- flows
    flow_allow_outside_files: bool = Field(
        default=False, description="Local flows may reference files outside their directory."
    )

    # --- the campaign service
    database_url: str = Field(default=DEFAULT_DATABASE_URL, description="SQLAlchemy URL.")
    background: bool = Field(default=True, description="Webhook sender and recovery in the app.")
    default_region: str | None = Field(default=None, description="ISO region of numbers without +.")
    default_country_code: str | None = Field(default=None, description="Older form of default_region.")
    webhook_allow_http: bool = Field(default=False, description="Allow plain http:// webhooks.")
    webhook_allow: str = Field(
        default="", description="Comma-separated hosts, IPs, CIDRs webhooks may reach though private."
    )
    fetch_secret: SecretStr | None = Field(
        default=None, description="Signs live-data fetches of flows (X-Waihu-Signature, like webhooks)."
    )
    fetch_allow_http: bool = Field(default=False, description="Allow plain http:// live-data fetches.")
    fetch_allow: str = Field(
        default="",
        description="Comma-separated hosts, IPs, CIDRs live-data fetches may reach though private.",
    )
    retention_days: int = Field(
        default=90, ge=0, le=3650, description="Days recordings and transcripts are kept (0: forever)."
    )
    mask_after_days: int = Field(
        default=0, ge=0, le=3650, description="Days after which result phone numbers are masked (0: never)."
    )
    metrics_public: bool = Field(default=False, description="Serve /metrics without an API key.")
    frequency_cap: str = Field(
        default="", description="N/Dd: at most N answered calls per phone per D days (e.g. 2/7d)."
    )

    # --- the operator console
    recordings_dir: Path | None = Field(default=None, description="Recordings are served from below it.")
    console_nlu: Literal["default", "rules", "model"] = Field(
        default="default", description="The NLU of the console's simulator."
    )
    console_flows_dir: Path | None = Field(default=None, description="Shipped flows and their tests.")
    time_zone: str = Field(
        default="Asia/Shanghai",
        description="IANA zone of the console's times outside campaign pages (those: the campaign's).",
    )

    @field_validator("data_dir", "models_dir", "vosk_model", "recordings_dir", "console_flows_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("time_zone")
    @classmethod
    def _check_time_zone(cls, value: str) -> str:
        return check_time_zone(value)

    @property
    def speech_models_dir(self) -> Path:
        """``models_dir``, else ``<data_dir>/models``."""
        return self.models_dir if self.models_dir is not None else self.data_dir / "models"


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone (``Asia/Shanghai``, ``UTC``); else ValueError naming
    ``WAIHU_TIME_ZONE``: the console would otherwise show times in a zone browsers cannot format."""
    name = name.strip()
    try:
        zoneinfo.ZoneInfo(name)
        known = name not in _NOT_ZONES
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        known = False
    if not known:
        raise ValueError(
            f"WAIHU_TIME_ZONE={name!r} is not an IANA time zone (e.g. Asia/Shanghai, UTC;"
            " a missing tz database: install tzdata)"
        )
    return name


#: Files of the tz database that ZoneInfo opens but browsers do not know as zones.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The process's settings, read from the environment at the first call."""
    return Environment()


def reload_environment() -> Environment:
    """Read the environment again (tests that change a variable)."""
    environment.cache_clear()
    return environment()
