"""post-call actions (挂机短信)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

A campaign's post-call rules (``campaign.post_call``: endpoint URL, signing secret, rules by grade, tag
and outcome) send a signed ``notify`` event through the webhook outbox; such an event carries its own
destination (``webhook_event.url``) and the attempt it is about (``webhook_event.attempt_id``), so that
the attempt's result can show its delivery status.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("post_call", sa.JSON(), nullable=True))
    with op.batch_alter_table("webhook_event") as batch:
        batch.add_column(sa.Column("url", sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column("attempt_id", sa.String(length=32), nullable=True))
        batch.create_index("ix_webhook_event_attempt_id", ["attempt_id"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_event") as batch:
        batch.drop_index("ix_webhook_event_attempt_id")
        batch.drop_column("attempt_id")
        batch.drop_column("url")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("post_call")
