"""campaign rules: start/stop times, holidays, frequency cap, result routing, local caller IDs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

``campaign`` gets exact ``start_at``/``stop_at`` times, its own ``holidays`` and the names of the
tenant's shared ``holiday_calendars`` it observes, a per-phone ``frequency_cap`` (NULL: none),
``routing_rules`` (result-based retries and follow-up campaigns) and ``caller_numbers_by_region``.
``holiday`` holds the tenant's shared calendars. ``contact`` links a routed contact to its follow-up
(``routed_to_contact_id``) and back (``routed_from_contact_id``); ``attempt`` records the callee's
region used to pick the caller number. An index on ``attempt (phone, answer_at)`` serves the cap.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("start_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("stop_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("holidays", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("holiday_calendars", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("frequency_cap", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("routing_rules", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("caller_numbers_by_region", sa.JSON(), nullable=False, server_default="{}")
        )
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("routed_from_contact_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("routed_to_contact_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("caller_region", sa.String(length=32), nullable=True))
        batch.create_index(op.f("ix_attempt_phone_answer_at"), ["phone", "answer_at"], unique=False)
    op.create_table(
        "holiday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("calendar", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday")),
        sa.UniqueConstraint("tenant", "calendar", "day", name=op.f("uq_holiday_tenant_calendar_day")),
    )


def downgrade() -> None:
    """Drops the rules, the shared calendars and the routing links (contacts and attempts stay)."""
    op.drop_table("holiday")
    with op.batch_alter_table("attempt") as batch:
        batch.drop_index(op.f("ix_attempt_phone_answer_at"))
        batch.drop_column("caller_region")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("routed_to_contact_id")
        batch.drop_column("routed_from_contact_id")
    with op.batch_alter_table("campaign") as batch:
        for column in (
            "caller_numbers_by_region",
            "routing_rules",
            "frequency_cap",
            "holiday_calendars",
            "holidays",
            "stop_at",
            "start_at",
        ):
            batch.drop_column(column)
