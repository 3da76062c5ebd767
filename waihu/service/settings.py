"""Settings of the campaign service (plain data; read from the environment by :meth:`Settings.from_env`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///var/waihu.db"


@dataclass(frozen=True)
class Settings:
    """What the service needs to run.

    ``database_url``: an SQLAlchemy URL, ``sqlite:///path`` or ``postgresql+psycopg://user@host/db``.
    ``migrate``: apply Alembic migrations (``upgrade head``) when the app starts.
    ``background``: run the webhook sender and the stale-attempt recovery in a thread of the app.
    """

    database_url: str = DEFAULT_DATABASE_URL
    migrate: bool = True
    background: bool = False
    background_interval_s: float = 2.0
    max_import_rows: int = 100_000
    max_body_bytes: int = 64 * 1024 * 1024
    default_country_code: str = "86"

    @classmethod
    def from_env(cls) -> Settings:
        """``WAIHU_DATABASE_URL``, ``WAIHU_BACKGROUND`` (1/0), ``WAIHU_DEFAULT_COUNTRY_CODE``."""
        return cls(
            database_url=os.environ.get("WAIHU_DATABASE_URL", DEFAULT_DATABASE_URL),
            background=os.environ.get("WAIHU_BACKGROUND", "1") not in {"0", "false", "no"},
            default_country_code=os.environ.get("WAIHU_DEFAULT_COUNTRY_CODE", "86"),
        )
