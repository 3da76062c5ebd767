"""tenants and the audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Every key, flow version, campaign, seat and block-list entry gets a tenant; the rows that existed go to
the ``default`` tenant (block-list entries too: they keep blocking the campaigns they blocked, which are
all in ``default``). Uniqueness becomes per tenant: flow versions, campaign reference ids, seat URIs and
block-list numbers. A global block list is the entries with no tenant (a partial unique index keeps one
entry per number). ``audit_log`` records every change made through the API.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DEFAULT_TENANT = "default"
_TENANT = sa.String(length=64)


def _add_tenant(table: str, *, nullable: bool = False) -> None:
    """Add ``tenant`` filled with ``default`` for the existing rows."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("tenant", _TENANT, nullable=True))
    op.execute(sa.text(f"UPDATE {table} SET tenant = :tenant").bindparams(tenant=DEFAULT_TENANT))
    if not nullable:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("tenant", existing_type=_TENANT, nullable=False)


def upgrade() -> None:
    _add_tenant("api_key")
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("platform_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index(op.f("ix_api_key_tenant"), ["tenant"], unique=False)
    with op.batch_alter_table("api_key") as batch:
        batch.alter_column("platform_admin", existing_type=sa.Boolean(), server_default=None)

    _add_tenant("flow_version")
    with op.batch_alter_table("flow_version") as batch:
        batch.drop_constraint("uq_flow_version_flow_id_version", type_="unique")
        batch.create_unique_constraint(
            op.f("uq_flow_version_tenant_flow_id_version"), ["tenant", "flow_id", "version"]
        )

    _add_tenant("campaign")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_constraint("uq_campaign_reference_id", type_="unique")
        batch.create_unique_constraint(op.f("uq_campaign_tenant_reference_id"), ["tenant", "reference_id"])

    _add_tenant("seat")
    with op.batch_alter_table("seat") as batch:
        batch.drop_constraint("uq_seat_uri", type_="unique")
        batch.create_unique_constraint(op.f("uq_seat_tenant_uri"), ["tenant", "uri"])

    _add_tenant("dnc", nullable=True)
    with op.batch_alter_table("dnc") as batch:
        batch.drop_constraint("uq_dnc_phone", type_="unique")
        batch.create_unique_constraint(op.f("uq_dnc_tenant_phone"), ["tenant", "phone"])
        batch.create_index(op.f("ix_dnc_phone"), ["phone"], unique=False)
    op.create_index(
        "uq_dnc_global_phone",
        "dnc",
        ["phone"],
        unique=True,
        sqlite_where=sa.text("tenant IS NULL"),
        postgresql_where=sa.text("tenant IS NULL"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_key_id", sa.String(length=24), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_tenant", _TENANT, nullable=True),
        sa.Column("tenant", _TENANT, nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_tenant_id"), "audit_log", ["tenant", "id"], unique=False)
    op.create_index(op.f("ix_audit_log_actor_tenant_id"), "audit_log", ["actor_tenant", "id"], unique=False)


def downgrade() -> None:
    """Back to one tenant: only the ``default`` tenant's rows and the global block list survive."""
    op.drop_index(op.f("ix_audit_log_actor_tenant_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_tenant_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")

    op.drop_index("uq_dnc_global_phone", table_name="dnc")
    # A number on both the global list and the default tenant's list becomes one entry again.
    op.execute(
        "DELETE FROM dnc WHERE tenant IS NULL AND phone IN (SELECT phone FROM dnc WHERE tenant = 'default')"
    )
    op.execute("DELETE FROM dnc WHERE tenant IS NOT NULL AND tenant <> 'default'")
    with op.batch_alter_table("dnc") as batch:
        batch.drop_index(op.f("ix_dnc_phone"))
        batch.drop_constraint("uq_dnc_tenant_phone", type_="unique")
        batch.create_unique_constraint(op.f("uq_dnc_phone"), ["phone"])
        batch.drop_column("tenant")

    op.execute("DELETE FROM seat WHERE tenant <> 'default'")
    with op.batch_alter_table("seat") as batch:
        batch.drop_constraint("uq_seat_tenant_uri", type_="unique")
        batch.create_unique_constraint(op.f("uq_seat_uri"), ["uri"])
        batch.drop_column("tenant")

    op.execute("DELETE FROM campaign WHERE tenant <> 'default'")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_constraint("uq_campaign_tenant_reference_id", type_="unique")
        batch.create_unique_constraint(op.f("uq_campaign_reference_id"), ["reference_id"])
        batch.drop_column("tenant")

    op.execute("DELETE FROM flow_version WHERE tenant <> 'default'")
    with op.batch_alter_table("flow_version") as batch:
        batch.drop_constraint("uq_flow_version_tenant_flow_id_version", type_="unique")
        batch.create_unique_constraint(op.f("uq_flow_version_flow_id_version"), ["flow_id", "version"])
        batch.drop_column("tenant")

    op.execute("DELETE FROM api_key WHERE tenant <> 'default'")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_index(op.f("ix_api_key_tenant"))
        batch.drop_column("platform_admin")
        batch.drop_column("tenant")
