"""flow assets: operator recordings uploaded with a flow version (bundle), prompt warm-up counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

``flow_asset`` holds each recording's bytes once (by sha256), so every worker sharing the database gets
them; ``flow_version_asset`` names the recordings of a version (their path in the bundle). ``flow_warmup``
records the background synthesis of a version's fixed prompts at upload.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow_asset",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_flow_asset")),
    )
    op.create_table(
        "flow_version_asset",
        sa.Column("flow_version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_version_id"],
            ["flow_version.id"],
            name=op.f("fk_flow_version_asset_flow_version_id_flow_version"),
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["flow_asset.sha256"], name=op.f("fk_flow_version_asset_sha256_flow_asset")
        ),
        sa.PrimaryKeyConstraint("flow_version_id", "name", name=op.f("pk_flow_version_asset")),
    )
    op.create_index(op.f("ix_flow_version_asset_sha256"), "flow_version_asset", ["sha256"], unique=False)
    op.create_table(
        "flow_warmup",
        sa.Column("flow_version_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("synthesised", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_version_id"], ["flow_version.id"], name=op.f("fk_flow_warmup_flow_version_id_flow_version")
        ),
        sa.PrimaryKeyConstraint("flow_version_id", name=op.f("pk_flow_warmup")),
    )


def downgrade() -> None:
    op.drop_table("flow_warmup")
    op.drop_index(op.f("ix_flow_version_asset_sha256"), table_name="flow_version_asset")
    op.drop_table("flow_version_asset")
    op.drop_table("flow_asset")
