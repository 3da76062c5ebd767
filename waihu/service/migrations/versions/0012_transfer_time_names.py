"""one set of time names for a call and its seat legs

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26

The ``transfer`` table named its times ``ringing_at``/``answered_at``/``ended_at`` while the attempt, the
API and the webhooks say ``ring_at``/``answer_at``/``end_at``: renamed so one record of a call uses one set
of names from the SIP layer to the API (issue #12).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_RENAMES = (("ringing_at", "ring_at"), ("answered_at", "answer_at"), ("ended_at", "end_at"))


def upgrade() -> None:
    with op.batch_alter_table("transfer") as batch:  # SQLite needs the batch copy to rename columns
        for old, new in _RENAMES:
            batch.alter_column(old, new_column_name=new)


def downgrade() -> None:
    with op.batch_alter_table("transfer") as batch:
        for old, new in _RENAMES:
            batch.alter_column(new, new_column_name=old)
