"""A/B variants of a campaign

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

A campaign may run two or more variants (flow versions and/or voices) with weights (``campaign.variants``);
each contact keeps the variant it was assigned at its first claim (``contact.variant``) and every attempt
records the variant it ran (``attempt.variant``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("variants", sa.JSON(), nullable=True))
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("variant", sa.String(length=32), nullable=True))
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("variant", sa.String(length=32), nullable=True))
        batch.create_index("ix_attempt_campaign_id_variant", ["campaign_id", "variant"])


def downgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.drop_index("ix_attempt_campaign_id_variant")
        batch.drop_column("variant")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("variant")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("variants")
