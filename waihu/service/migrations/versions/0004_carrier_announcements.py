"""carrier announcements and voicemail: attempt.carrier_announcement, campaign voicemail action

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

``attempt.carrier_announcement``: the text of the early-media announcement (or the tone) that decided
the outcome (invalid_number, powered_off, suspended, unreachable, busy). ``campaign.voicemail_action``
(``hangup`` or ``message``) and ``campaign.voicemail_message``: what a call does on an answering machine.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("carrier_announcement", sa.String(length=500), nullable=True))
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("voicemail_action", sa.String(length=16), nullable=False, server_default="hangup")
        )
        batch.add_column(sa.Column("voicemail_message", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("voicemail_message")
        batch.drop_column("voicemail_action")
    with op.batch_alter_table("attempt") as batch:
        batch.drop_column("carrier_announcement")
