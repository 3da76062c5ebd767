"""The tables of the campaign service (SQLAlchemy 2 typed ORM; SQLite and PostgreSQL).

Times are stored in UTC and always come back timezone-aware (:class:`UTCDateTime`). Every schema change
goes through an Alembic migration in ``waihu/service/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import text
from sqlalchemy.types import TypeDecorator

#: Length of a tenant name (``waihu.service.tenancy`` checks its spelling).
TENANT_CHARS = 64
#: The tenant of rows that existed before tenants, and of rows made by code that names none (CLI, demos).
DEFAULT_TENANT = "default"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC (naive on SQLite, ``timestamptz`` on PostgreSQL), read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations can name them)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class ApiKey(Base):
    """A bearer key: ``whk_<id>.<secret>``; only the SHA-256 of the secret is stored.

    Every key belongs to a ``tenant`` (a strategy system or business unit) and sees only that tenant's
    data. ``platform_admin`` (admin keys only) may also manage the global block list and keys of every
    tenant.
    """

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT_CHARS), index=True, default=DEFAULT_TENANT)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class FlowVersion(Base):
    """One uploaded version of a flow; campaigns keep the version they started with."""

    __tablename__ = "flow_version"
    __table_args__ = (UniqueConstraint("tenant", "flow_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT_CHARS), default=DEFAULT_TENANT)
    flow_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    declared_version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    """A batch of contacts called with one flow version under one set of calling rules."""

    __tablename__ = "campaign"
    __table_args__ = (Index(None, "state", "priority"), UniqueConstraint("tenant", "reference_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT_CHARS), default=DEFAULT_TENANT)
    name: Mapped[str] = mapped_column(String(200))
    reference_id: Mapped[str | None] = mapped_column(String(128))
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_version.id"))
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))
    windows: Mapped[list[Any]]
    not_before: Mapped[dt.date | None] = mapped_column(Date)
    not_after: Mapped[dt.date | None] = mapped_column(Date)
    max_attempts: Mapped[int]
    max_attempts_per_day: Mapped[int]
    retry_policy: Mapped[dict[str, Any]]
    concurrency: Mapped[int]
    caller_numbers: Mapped[list[Any]]
    priority: Mapped[int] = mapped_column(default=0)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="scheduling")
    created_by: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Contact(Base):
    """A person to call within a campaign; ``reference_id`` is the strategy system's own id."""

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("campaign_id", "reference_id"),
        # The scheduler's pick: due pending contacts of one campaign, oldest due first.
        # ``id`` last makes the tie-break of the ORDER BY free on PostgreSQL too (SQLite has rowid).
        Index(None, "campaign_id", "state", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    reference_id: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    next_attempt_at: Mapped[dt.datetime | None]
    attempts_total: Mapped[int] = mapped_column(default=0)
    attempts_day: Mapped[dt.date | None] = mapped_column(Date)
    attempts_on_day: Mapped[int] = mapped_column(default=0)
    retry_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_attempt_id: Mapped[str | None] = mapped_column(String(32))
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    final_outcome: Mapped[str | None] = mapped_column(String(32))
    final_grade: Mapped[str | None] = mapped_column(String(8))
    grade_label: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    regraded_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class Attempt(Base):
    """One dial of one contact. Written (state ``dialling``) before the INVITE is sent."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("contact_id", "number"),
        Index(None, "campaign_id", "status"),
        Index(None, "status", "lease_until"),
        Index(None, "campaign_id", "end_at", "id"),
        Index(None, "end_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    number: Mapped[int]
    phone: Mapped[str] = mapped_column(String(32))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="dialling")
    claimed_by: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime | None]
    ring_at: Mapped[dt.datetime | None]
    answer_at: Mapped[dt.datetime | None]
    end_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    sip_code: Mapped[int | None]
    sip_reason: Mapped[str | None] = mapped_column(String(200))
    hangup_by: Mapped[str | None] = mapped_column(String(16))
    hangup_reason: Mapped[str | None] = mapped_column(String(200))
    grade: Mapped[str | None] = mapped_column(String(8))
    grade_label: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    kb_hits: Mapped[list[Any]] = mapped_column(default=list)
    rounds: Mapped[int] = mapped_column(default=0)
    transcript: Mapped[list[Any]] = mapped_column(default=list)
    recording_path: Mapped[str | None] = mapped_column(String(1000))


class Dnc(Base):
    """A number that must never be dialled: by one tenant's campaigns, or by every tenant's (``tenant``
    NULL, the global list a platform admin keeps)."""

    __tablename__ = "dnc"
    __table_args__ = (
        UniqueConstraint("tenant", "phone"),
        # NULLs are distinct in a unique constraint: the global list needs its own partial index.
        Index(
            "uq_dnc_global_phone",
            "phone",
            unique=True,
            sqlite_where=text("tenant IS NULL"),
            postgresql_where=text("tenant IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(TENANT_CHARS))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(32), default="api")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Seat(Base):
    """A human agent's SIP endpoint that calls can be transferred to."""

    __tablename__ = "seat"
    __table_args__ = (Index(None, "skill_group", "available"), UniqueConstraint("tenant", "uri"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT_CHARS), default=DEFAULT_TENANT)
    uri: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200), default="")
    skill_group: Mapped[str] = mapped_column(String(64), default="default")
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """The outbox: one event to push to a campaign's webhook; ``next_try_at`` is NULL once settled."""

    __tablename__ = "webhook_event"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One change made through the API: who, when, what, and the resource before and after.

    ``tenant`` is the tenant the changed resource belongs to (NULL: the global block list);
    ``actor_tenant`` the tenant of the key that made it. ``before``/``after`` are stored with secrets
    and phone numbers masked (:mod:`waihu.service.audit`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant", "id"), Index(None, "actor_tenant", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_key_id: Mapped[str | None] = mapped_column(String(24))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_tenant: Mapped[str | None] = mapped_column(String(TENANT_CHARS))
    tenant: Mapped[str | None] = mapped_column(String(TENANT_CHARS))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
