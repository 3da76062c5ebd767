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
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import false, text
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


class FlowAsset(Base):
    """A recording's bytes, stored once by content: every worker sharing the database can fetch it."""

    __tablename__ = "flow_asset"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FlowVersionAsset(Base):
    """A recording a flow version's ``audio:`` names (its path in the bundle) and its content."""

    __tablename__ = "flow_version_asset"

    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_version.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("flow_asset.sha256"), index=True)
    duration_ms: Mapped[int]


class FlowWarmup(Base):
    """Prompts synthesised ahead for a flow version at upload (a background job of the service)."""

    __tablename__ = "flow_warmup"

    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_version.id"), primary_key=True)
    #: ``pending`` → ``running`` → ``done`` or ``failed``.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    #: Clauses synthesised by this job, and those already in the prompt cache.
    synthesised: Mapped[int] = mapped_column(default=0)
    cached: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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
    #: A/B split: ``[{"name", "weight", "flow_version_id", "flow_id", "flow_version", "voice"}, …]`` or None.
    variants: Mapped[list[Any] | None] = mapped_column(JSON)
    #: Post-call actions: ``{"url", "secret", "rules": [...]}`` (:mod:`waihu.service.post_call`) or None.
    post_call: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Campaign rules (migration 0003): exact start/stop times, holidays (its own dates and the tenant's
    # shared calendars it observes), the per-phone frequency cap (None: no cap), result routing rules
    # and caller numbers by the callee's region (province).
    start_at: Mapped[dt.datetime | None]
    stop_at: Mapped[dt.datetime | None]
    holidays: Mapped[list[Any]] = mapped_column(default=list)
    holiday_calendars: Mapped[list[Any]] = mapped_column(default=list)
    frequency_cap: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    routing_rules: Mapped[list[Any]] = mapped_column(default=list)
    caller_numbers_by_region: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Migration 0004: what to do on an answering machine: ``hangup`` or ``message`` (say
    #: ``voicemail_message`` after the beep, then hang up).
    voicemail_action: Mapped[str] = mapped_column(String(16), default="hangup")
    voicemail_message: Mapped[str | None] = mapped_column(String(500))
    #: Migration 0009: the seat group transfers go to (None: the flow's ``transfer.skill_group``).
    seat_group: Mapped[str | None] = mapped_column(String(64))
    #: Migration 0010: days ended attempts keep recordings and transcripts, and after which phone
    #: numbers in results are masked (None: the server's defaults, :mod:`waihu.service.retention`).
    retention_days: Mapped[int | None]
    mask_after_days: Mapped[int | None]
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
    #: The A/B variant assigned at the first claim; retries keep it.
    variant: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    #: Result routing: the follow-up contact this one was routed to, and the contact it came from.
    routed_to_contact_id: Mapped[int | None]
    routed_from_contact_id: Mapped[int | None]


class Attempt(Base):
    """One dial of one contact. Written (state ``dialling``) before the INVITE is sent."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("contact_id", "number"),
        Index(None, "campaign_id", "status"),
        Index(None, "status", "lease_until"),
        Index(None, "campaign_id", "end_at", "id"),
        Index(None, "end_at", "id"),
        Index(None, "phone", "answer_at"),  # the per-phone frequency cap
        Index(None, "campaign_id", "variant"),
        Index(None, "trunk", "status"),  # a trunk's lines in use
        Index(None, "trunk", "trunk_claimed_at"),  # a trunk's starts in the last second
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    number: Mapped[int]
    phone: Mapped[str] = mapped_column(String(32))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    #: The callee's region (province) the caller number was picked for; None: no local number used.
    caller_region: Mapped[str | None] = mapped_column(String(32))
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
    #: Migration 0004: what the carrier's early media said (空号/关机 …) when it decided the outcome.
    carrier_announcement: Mapped[str | None] = mapped_column(String(500))
    variant: Mapped[str | None] = mapped_column(String(32))
    # Migration 0009: the hand-off to a seat (None: no transfer); one row per seat leg in ``transfer``.
    transfer_seat_id: Mapped[int | None]
    transfer_seat_uri: Mapped[str | None] = mapped_column(String(300))
    transfer_seats_tried: Mapped[int | None]
    transfer_ring_ms: Mapped[int | None]
    transfer_answered: Mapped[bool | None] = mapped_column(Boolean)
    transfer_talk_s: Mapped[float | None] = mapped_column(Float)
    transfer_hangup_by: Mapped[str | None] = mapped_column(String(16))
    #: Migration 0008: the trunk it was dialled on (``waihu worker --trunk-name``); None: unnamed trunk.
    trunk: Mapped[str | None] = mapped_column(String(64))
    #: The database clock when the trunk's lock granted this start: CPS pacing counts these.
    trunk_claimed_at: Mapped[dt.datetime | None]
    #: Migration 0010: when the retention chore removed the recording and the transcript.
    purged_at: Mapped[dt.datetime | None]


class NluInboxItem(Base):
    """Migration 0011: a callee's utterance a real call could not classify (no match or low confidence),
    kept for the operator's learning inbox (:mod:`waihu.service.inbox`); filled when a result is saved.

    ``state``: ``open`` → ``added`` (made an example of ``resolved_as`` in flow version
    ``resolved_version``) or ``dismissed``.
    """

    __tablename__ = "nlu_inbox"
    __table_args__ = (Index(None, "tenant", "flow_id", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT_CHARS), default=DEFAULT_TENANT)
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int]
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    turn_index: Mapped[int]
    node: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(1000))
    #: What the engine took (``no_match``, or the intent it accepted with low confidence).
    intent: Mapped[str] = mapped_column(String(140))
    #: The NLU's best guess (empty: none).
    guess: Mapped[str] = mapped_column(String(140), default="")
    confidence: Mapped[float]
    state: Mapped[str] = mapped_column(String(16), default="open")
    resolved_as: Mapped[str | None] = mapped_column(String(140))
    resolved_version: Mapped[int | None]
    resolved_by: Mapped[str | None] = mapped_column(String(24))
    resolved_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Trunk(Base):
    """A carrier trunk's limits, shared by every worker dialling on it (see waihu.service.trunk_limits).

    None: no limit. The claim locks this row, so the limits hold across workers and hosts.
    """

    __tablename__ = "trunk"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Calls in progress on the trunk at most (the carrier's line count).
    max_lines: Mapped[int | None]
    #: Call starts per second at most, in any 1-s window (the carrier's CPS).
    max_cps: Mapped[int | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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
    # Migration 0009: on a transfer leg (claimed by a conditional UPDATE: :mod:`waihu.service.seats`),
    # and the times the longest-idle / round-robin strategies order by.
    busy: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    busy_attempt: Mapped[str | None] = mapped_column(String(32))
    busy_since: Mapped[dt.datetime | None]
    last_idle_at: Mapped[dt.datetime | None]
    last_offered_at: Mapped[dt.datetime | None]


class Transfer(Base):
    """Migrations 0009, 0012: one seat leg a transferred call offered (several when seats did not answer)."""

    __tablename__ = "transfer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seat.id", ondelete="SET NULL"), index=True)
    seat_uri: Mapped[str] = mapped_column(String(300))
    #: 1 for the first seat tried, 2 for the next …
    position: Mapped[int]
    offered_at: Mapped[dt.datetime]
    ring_at: Mapped[dt.datetime | None]
    answer_at: Mapped[dt.datetime | None]
    end_at: Mapped[dt.datetime | None]
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    sip_code: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(200), default="")
    ring_ms: Mapped[int | None]
    talk_s: Mapped[float | None] = mapped_column(Float)
    hangup_by: Mapped[str | None] = mapped_column(String(16))


class Holiday(Base):
    """A date of one of a tenant's shared holiday calendars: campaigns observing it never dial then."""

    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("tenant", "calendar", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(TENANT_CHARS))
    calendar: Mapped[str] = mapped_column(String(64))
    day: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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
    #: A ``notify`` event's own destination (None: the campaign's webhook) and the attempt it is about.
    url: Mapped[str | None] = mapped_column(String(2000))
    attempt_id: Mapped[str | None] = mapped_column(String(32), index=True)


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
