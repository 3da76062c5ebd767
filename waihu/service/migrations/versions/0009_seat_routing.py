"""seat routing and the transfer record: seat busy/idle state, campaign seat group, transfer rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

``seat.busy``/``busy_attempt``/``busy_since``: the seat is on a transfer leg (claimed by a conditional
UPDATE so two workers never offer one seat twice); ``last_idle_at``/``last_offered_at`` order the
longest-idle and round-robin strategies. ``campaign.seat_group`` overrides the flow's skill group.
``attempt.transfer_*``: the hand-off's summary (seat, seats tried, ring time, answered, talk time, who hung
up); the ``transfer`` table keeps one row per seat leg offered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seat") as batch:
        batch.add_column(sa.Column("busy", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("busy_attempt", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("busy_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_idle_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_offered_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("seat_group", sa.String(length=64), nullable=True))
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("transfer_seat_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("transfer_seat_uri", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("transfer_seats_tried", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("transfer_ring_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("transfer_answered", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("transfer_talk_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("transfer_hangup_by", sa.String(length=16), nullable=True))
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.String(length=32), nullable=False),
        sa.Column("seat_id", sa.Integer(), nullable=True),
        sa.Column("seat_uri", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ringing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("ring_ms", sa.Integer(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("hangup_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_transfer_attempt_id_attempt"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["seat_id"], ["seat.id"], name=op.f("fk_transfer_seat_id_seat"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
    )
    op.create_index(op.f("ix_transfer_attempt_id"), "transfer", ["attempt_id"], unique=False)
    op.create_index(op.f("ix_transfer_seat_id"), "transfer", ["seat_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transfer_seat_id"), table_name="transfer")
    op.drop_index(op.f("ix_transfer_attempt_id"), table_name="transfer")
    op.drop_table("transfer")
    with op.batch_alter_table("attempt") as batch:
        for name in (
            "transfer_hangup_by",
            "transfer_talk_s",
            "transfer_answered",
            "transfer_ring_ms",
            "transfer_seats_tried",
            "transfer_seat_uri",
            "transfer_seat_id",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("seat_group")
    with op.batch_alter_table("seat") as batch:
        for name in ("last_offered_at", "last_idle_at", "busy_since", "busy_attempt", "busy"):
            batch.drop_column(name)
