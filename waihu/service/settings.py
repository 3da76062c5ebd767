"""Settings of the campaign service (plain data; from the environment by :meth:`Settings.from_env`)."""

from __future__ import annotations

from dataclasses import dataclass

from waihu_env import DEFAULT_DATABASE_URL, Environment, environment

__all__ = ["DEFAULT_DATABASE_URL", "Settings"]


def _default_region(env: Environment) -> str:
    from waihu.service.phones import check_region, region_for_country_code

    if env.default_region:
        return check_region(env.default_region)
    country_code = env.default_country_code  # the older setting, still honoured
    return region_for_country_code(country_code) if country_code else "CN"


def _frequency_cap(text: str) -> tuple[int, int] | None:
    """``"2/7d"`` → ``(2, 7)``; empty or ``off`` → None; anything else stops the start with a message."""
    text = text.strip().lower()
    if text in ("", "off", "0"):
        return None
    answered, _, days = text.partition("/")
    try:
        cap = (int(answered), int(days.removesuffix("d")))
    except ValueError:
        raise ValueError(f"WAIHU_FREQUENCY_CAP={text!r}: use N/Dd, e.g. 2/7d") from None
    if not (1 <= cap[0] <= 100 and 1 <= cap[1] <= 365):
        raise ValueError(f"WAIHU_FREQUENCY_CAP={text!r}: N from 1 to 100, D from 1 to 365")
    return cap


@dataclass(frozen=True)
class Settings:
    """What the service needs to run.

    ``database_url``: an SQLAlchemy URL, ``sqlite:///path`` or ``postgresql+psycopg://user@host/db``.
    ``migrate``: apply Alembic migrations (``upgrade head``) when the app starts.
    ``background``: run the webhook sender and the stale-attempt recovery in a thread of the app.
    ``default_region``: ISO 3166 region of phone numbers given without ``+`` (``CN``).
    ``webhook_allow_http``: allow plain ``http://`` webhook URLs (default: HTTPS only).
    ``webhook_allow``: host names, IPs and CIDRs webhooks may reach although they are private,
    loopback or link-local (default: none; public addresses only).
    ``metrics_public``: serve ``/metrics`` without an API key (default: a key of any role is needed).
    ``frequency_cap``: ``(max answered calls, days)`` per phone across a tenant's campaigns, given to
    campaigns created without their own ``frequency_cap`` (default: None, no cap).
    ``retention_days`` / ``mask_after_days``: the data retention of campaigns without their own
    (:mod:`waihu.service.retention`; None: keep recordings and transcripts / never mask).
    """

    database_url: str = DEFAULT_DATABASE_URL
    migrate: bool = True
    background: bool = False
    background_interval_s: float = 2.0
    max_import_rows: int = 100_000
    max_body_bytes: int = 64 * 1024 * 1024
    default_region: str = "CN"
    webhook_allow_http: bool = False
    webhook_allow: tuple[str, ...] = ()
    metrics_public: bool = False
    frequency_cap: tuple[int, int] | None = None
    retention_days: int | None = 90
    mask_after_days: int | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """``WAIHU_DATABASE_URL``, ``WAIHU_BACKGROUND`` (1/0), ``WAIHU_DEFAULT_REGION`` (or the older
        ``WAIHU_DEFAULT_COUNTRY_CODE``), ``WAIHU_WEBHOOK_ALLOW_HTTP`` (1/0), ``WAIHU_WEBHOOK_ALLOW``
        (comma-separated hosts, IPs, CIDRs), ``WAIHU_METRICS_PUBLIC`` (1/0), ``WAIHU_FREQUENCY_CAP``
        (``N/Dd``: at most N answered calls per phone per D days, e.g. ``2/7d``)."""
        env = environment()
        return cls(
            database_url=env.database_url,
            background=env.background,
            default_region=_default_region(env),
            webhook_allow_http=env.webhook_allow_http,
            webhook_allow=tuple(entry.strip() for entry in env.webhook_allow.split(",") if entry.strip()),
            metrics_public=env.metrics_public,
            frequency_cap=_frequency_cap(env.frequency_cap),
            retention_days=env.retention_days or None,
            mask_after_days=env.mask_after_days or None,
        )
