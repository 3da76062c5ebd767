"""data retention per campaign: recordings and transcripts purged, phone numbers masked after N days

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25

``campaign.retention_days``: days an ended attempt keeps its recording and transcript (NULL: the
server's ``WAIHU_RETENTION_DAYS``); ``campaign.mask_after_days``: days after which phone numbers in the
stored results are masked (NULL: ``WAIHU_MASK_AFTER_DAYS``, off when unset).
``attempt.purged_at``: when the retention chore removed the attempt's recording and transcript.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mask_after_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.drop_column("purged_at")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("mask_after_days")
        batch.drop_column("retention_days")
