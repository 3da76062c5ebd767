"""per-trunk line cap and CPS pacing

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

A ``trunk`` row holds a carrier trunk's limits (``max_lines`` calls in progress, ``max_cps`` call starts
in any 1-s window; NULL: none), shared by every worker that dials on it. An attempt records the trunk it
was dialled on and the database clock at which the trunk's lock granted its start (``trunk_claimed_at``):
the claim counts a trunk's lines and its starts of the last second from these, under the trunk row's lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trunk",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("max_lines", sa.Integer(), nullable=True),
        sa.Column("max_cps", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_trunk")),
    )
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("trunk", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("trunk_claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_attempt_trunk_status", ["trunk", "status"])
        batch.create_index("ix_attempt_trunk_trunk_claimed_at", ["trunk", "trunk_claimed_at"])


def downgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.drop_index("ix_attempt_trunk_trunk_claimed_at")
        batch.drop_index("ix_attempt_trunk_status")
        batch.drop_column("trunk_claimed_at")
        batch.drop_column("trunk")
    op.drop_table("trunk")
