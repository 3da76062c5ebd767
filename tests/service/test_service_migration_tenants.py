"""Migration 0002 (tenants, audit log) on a database with data, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from waihu.service.db import downgrade, make_engine, upgrade

NOW = "2026-11-23 02:00:00"
ROWS = [
    "INSERT INTO api_key (id, name, role, secret_hash, created_at) VALUES ('k1', 'old', 'admin', 'h', :now)",
    "INSERT INTO flow_version (id, flow_id, version, declared_version, name, language, yaml_text, sha256,"
    " created_at) VALUES (1, 'mini', 1, 1, 'Mini', 'zh', 'flow: {}', 's', :now)",
    "INSERT INTO campaign (id, name, reference_id, flow_version_id, flow_id, flow_version, timezone, windows,"
    " max_attempts, max_attempts_per_day, retry_policy, concurrency, caller_numbers, priority, state,"
    " created_at, updated_at) VALUES (1, 'c', 'ref-1', 1, 'mini', 1, 'Asia/Shanghai', '[]', 3, 2, '{}', 1,"
    " '[]', 0, 'scheduling', :now, :now)",
    "INSERT INTO contact (id, campaign_id, reference_id, phone, name, variables, state, attempts_total,"
    " attempts_on_day, retry_counts, grade_label, tags, created_at, updated_at) VALUES (1, 1, 'c1',"
    " '+8613800001234', '', '{}', 'pending', 0, 0, '{}', '', '[]', :now, :now)",
    "INSERT INTO dnc (id, phone, reason, source, created_at) VALUES (1, '+8613800001234', '', 'api', :now)",
    "INSERT INTO seat (id, uri, name, skill_group, available, created_at, updated_at)"
    " VALUES (1, 'sip:1@h', '', 'default', false, :now, :now)",
]


def _check(engine: Engine) -> None:
    upgrade(engine, "0001")
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), {"now": NOW})
    upgrade(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM contact")).scalar() == 1  # no cascade on SQLite
        for table in ("api_key", "flow_version", "campaign", "seat", "dnc"):
            assert conn.execute(text(f"SELECT tenant FROM {table}")).scalars().all() == ["default"], table
        assert conn.execute(text("SELECT platform_admin FROM api_key")).scalar() in (False, 0)
        # Per-tenant uniqueness: another tenant may reuse ids; the global list keeps one entry per number.
        conn.execute(text("UPDATE campaign SET reference_id = 'ref-1' WHERE id = 1"))
        conn.execute(
            text(
                "INSERT INTO dnc (id, tenant, phone, reason, source, created_at) VALUES"
                " (2, 'bank-b', '+8613800001234', '', 'api', :now), (3, NULL, '+8613800001234', '', 'api', :now)"
            ),
            {"now": NOW},
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO dnc (id, tenant, phone, reason, source, created_at)"
                " VALUES (4, NULL, '+8613800001234', '', 'x', :now)"
            ),
            {"now": NOW},
        )
    downgrade(engine, "0001")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM dnc")).scalar() == 1  # default's entry survives
        assert conn.execute(text("SELECT count(*) FROM contact")).scalar() == 1
    upgrade(engine)
    with engine.begin() as conn:  # nothing was lost on the way: not even by a cascade on SQLite
        assert conn.execute(text("SELECT count(*) FROM contact")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM campaign")).scalar() == 1


def test_migration_moves_existing_rows_to_the_default_tenant_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        _check(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migration_moves_existing_rows_to_the_default_tenant_on_postgres(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        _check(engine)
    finally:
        engine.dispose()
