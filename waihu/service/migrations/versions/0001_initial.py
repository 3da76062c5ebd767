"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Every table of the campaign service. Timestamps are UTC (timestamptz on PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
    )
    op.create_table(
        "dnc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc")),
        sa.UniqueConstraint("phone", name=op.f("uq_dnc_phone")),
    )
    op.create_table(
        "flow_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("declared_version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=24), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_version")),
        sa.UniqueConstraint("flow_id", "version", name=op.f("uq_flow_version_flow_id_version")),
    )
    op.create_index(op.f("ix_flow_version_sha256"), "flow_version", ["sha256"], unique=False)

    op.create_table(
        "seat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("skill_group", sa.String(length=64), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat")),
        sa.UniqueConstraint("uri", name=op.f("uq_seat_uri")),
    )
    op.create_index(op.f("ix_seat_skill_group_available"), "seat", ["skill_group", "available"], unique=False)

    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reference_id", sa.String(length=128), nullable=True),
        sa.Column("flow_version_id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("flow_version", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("not_before", sa.Date(), nullable=True),
        sa.Column("not_after", sa.Date(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts_per_day", sa.Integer(), nullable=False),
        sa.Column("retry_policy", sa.JSON(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("caller_numbers", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=24), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_version_id"], ["flow_version.id"], name=op.f("fk_campaign_flow_version_id_flow_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("reference_id", name=op.f("uq_campaign_reference_id")),
    )
    op.create_index(op.f("ix_campaign_state_priority"), "campaign", ["state", "priority"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("reference_id", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts_total", sa.Integer(), nullable=False),
        sa.Column("attempts_day", sa.Date(), nullable=True),
        sa.Column("attempts_on_day", sa.Integer(), nullable=False),
        sa.Column("retry_counts", sa.JSON(), nullable=False),
        sa.Column("last_attempt_id", sa.String(length=32), nullable=True),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("final_outcome", sa.String(length=32), nullable=True),
        sa.Column("final_grade", sa.String(length=8), nullable=True),
        sa.Column("grade_label", sa.String(length=200), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("regraded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_contact_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("campaign_id", "reference_id", name=op.f("uq_contact_campaign_id_reference_id")),
    )
    op.create_index(
        op.f("ix_contact_campaign_id_state_next_attempt_at_id"),
        "contact",
        ["campaign_id", "state", "next_attempt_at", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_contact_phone"), "contact", ["phone"], unique=False)

    op.create_table(
        "webhook_event",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_webhook_event_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
    )
    op.create_index(op.f("ix_webhook_event_campaign_id"), "webhook_event", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_webhook_event_next_try_at"), "webhook_event", ["next_try_at"], unique=False)

    op.create_table(
        "attempt",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("flow_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ring_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.Column("sip_reason", sa.String(length=200), nullable=True),
        sa.Column("hangup_by", sa.String(length=16), nullable=True),
        sa.Column("hangup_reason", sa.String(length=200), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("grade_label", sa.String(length=200), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("kb_hits", sa.JSON(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("recording_path", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_attempt_campaign_id_campaign"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_attempt_contact_id_contact"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt")),
        sa.UniqueConstraint("contact_id", "number", name=op.f("uq_attempt_contact_id_number")),
    )
    op.create_index(
        op.f("ix_attempt_campaign_id_end_at_id"), "attempt", ["campaign_id", "end_at", "id"], unique=False
    )
    op.create_index(op.f("ix_attempt_campaign_id_status"), "attempt", ["campaign_id", "status"], unique=False)
    op.create_index(op.f("ix_attempt_end_at_id"), "attempt", ["end_at", "id"], unique=False)
    op.create_index(op.f("ix_attempt_status_lease_until"), "attempt", ["status", "lease_until"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attempt_status_lease_until"), table_name="attempt")
    op.drop_index(op.f("ix_attempt_end_at_id"), table_name="attempt")
    op.drop_index(op.f("ix_attempt_campaign_id_status"), table_name="attempt")
    op.drop_index(op.f("ix_attempt_campaign_id_end_at_id"), table_name="attempt")

    op.drop_table("attempt")
    op.drop_index(op.f("ix_webhook_event_next_try_at"), table_name="webhook_event")
    op.drop_index(op.f("ix_webhook_event_campaign_id"), table_name="webhook_event")

    op.drop_table("webhook_event")
    op.drop_index(op.f("ix_contact_phone"), table_name="contact")
    op.drop_index(op.f("ix_contact_campaign_id_state_next_attempt_at_id"), table_name="contact")

    op.drop_table("contact")
    op.drop_index(op.f("ix_campaign_state_priority"), table_name="campaign")

    op.drop_table("campaign")
    op.drop_index(op.f("ix_seat_skill_group_available"), table_name="seat")

    op.drop_table("seat")
    op.drop_index(op.f("ix_flow_version_sha256"), table_name="flow_version")

    op.drop_table("flow_version")
    op.drop_table("dnc")
    op.drop_table("api_key")
