"""the NLU learning inbox

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25

``nlu_inbox``: the callee utterances real calls could not classify (the engine's ``no_match``, or an
intent taken with low confidence), one row per turn, written with the attempt's result. The operator
groups them by similarity and adds one as an example of an intent or a KB question (a new flow
version), or dismisses it (:mod:`waihu.service.inbox`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlu_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("flow_version", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.String(length=32), nullable=False),
        sa.Column("turn_index", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("intent", sa.String(length=140), nullable=False),
        sa.Column("guess", sa.String(length=140), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolved_as", sa.String(length=140), nullable=True),
        sa.Column("resolved_version", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(length=24), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_nlu_inbox_attempt_id_attempt"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_inbox")),
    )
    op.create_index(op.f("ix_nlu_inbox_attempt_id"), "nlu_inbox", ["attempt_id"], unique=False)
    op.create_index(
        op.f("ix_nlu_inbox_tenant_flow_id_state_id"),
        "nlu_inbox",
        ["tenant", "flow_id", "state", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_nlu_inbox_tenant_flow_id_state_id"), table_name="nlu_inbox")
    op.drop_index(op.f("ix_nlu_inbox_attempt_id"), table_name="nlu_inbox")
    op.drop_table("nlu_inbox")
