"""Storage: migrations on SQLite, pragmas, phone normalisation, calling-window arithmetic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from waihu.service.db import alembic_config, open_database, upgrade
from waihu.service.models import Base
from waihu.service.phones import PhoneError, normalise_phone
from waihu.service.policy import CallingWindow, Schedule, decide_retry


def test_sqlite_migration_matches_models_and_sets_pragmas(tmp_path: Path) -> None:
    engine, _factory = open_database(f"sqlite:///{tmp_path / 'sub' / 'w.db'}")
    try:
        upgrade(engine)  # a second upgrade at startup is a no-op
        with engine.connect() as conn:
            assert (
                compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
                == []
            )
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()  # one head: a chain
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
            indexes = {index["name"] for index in inspect(conn).get_indexes("contact")}
        assert "ix_contact_campaign_id_state_next_attempt_at_id" in indexes
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800001234", "+8613800001234"),
        ("138-0000-1234", "+8613800001234"),
        ("+86 138 0000 1234", "+8613800001234"),
        ("008613800001234", "+8613800001234"),
        ("021 6234 5678", "+862162345678"),
        ("+1 (415) 555-0100", "+14155550100"),
    ],
)
def test_phone_normalisation(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "12", "+0123456789", "+1234567890123456", "13800001234x"])
def test_phone_rejections(raw: str) -> None:
    with pytest.raises(PhoneError):
        normalise_phone(raw)


def test_windows_across_dst_and_next_open() -> None:
    schedule = Schedule("Europe/Berlin", [CallingWindow(weekdays=[7], start="09:00", end="10:00")])
    # Sunday 2026-03-29 is the spring-forward day in Berlin: 09:00 local is 07:00 UTC (CEST).
    saturday = dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC)
    assert schedule.next_open(saturday) == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)
    assert schedule.is_open(dt.datetime(2026, 3, 29, 7, 30, tzinfo=dt.UTC))
    assert not schedule.is_open(dt.datetime(2026, 3, 29, 8, 0, tzinfo=dt.UTC))
    bounded = Schedule(
        "Asia/Shanghai", [CallingWindow(start="09:00", end="10:00")], not_after=dt.date(2026, 3, 28)
    )
    assert bounded.next_open(dt.datetime(2026, 3, 28, 3, 0, tzinfo=dt.UTC)) is None


def test_retry_past_not_after_is_final() -> None:
    schedule = Schedule("UTC", [CallingWindow(start="09:00", end="17:00")], not_after=dt.date(2026, 1, 1))
    decision = decide_retry(
        outcome="no_answer", retry_policy={"no_answer": {"interval_s": 86_400, "max": 3}}, retries_used=0,
        attempts_total=1, max_attempts=5, attempts_today=1, max_attempts_per_day=3, schedule=schedule,
        now=dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    assert decision.final and "not_after" in decision.reason


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="before end"):
        CallingWindow(start="18:00", end="09:00")
    with pytest.raises(ValueError, match="HH:MM"):
        CallingWindow(start="9am", end="10:00")
    assert CallingWindow(start="20:00", end="24:00").contains(dt.datetime(2026, 1, 1, 23, 59))
