"""Engine, sessions and migrations: SQLite (WAL, foreign keys on) by default, PostgreSQL for many hosts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Execution option asking SQLite for ``BEGIN IMMEDIATE`` (take the write lock up front).
WRITE_OPTION = "waihu_write"
#: How long an SQLite statement waits for another connection's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK_ID = 0x77616968  # "waih": serialises concurrent ``upgrade head`` on PostgreSQL


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGIN handling.

    A ``postgresql://`` URL is read with psycopg 3 (``postgresql+psycopg://``).
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        _setup_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (handy for returning them from the API)."""
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer.

    On SQLite this is ``BEGIN IMMEDIATE`` (one writer at a time, no lock upgrade failure later); on
    PostgreSQL a plain transaction (row locks do the work). Call it before the first statement.
    """
    session.connection(execution_options={WRITE_OPTION: True})  # type: ignore[misc]  # our own option key


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a writer transaction, committed on success and rolled back on error."""
    with factory() as session:
        begin_write(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the service's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _migrate(engine: Engine, step: Callable[[Config], None]) -> None:
    """Run an Alembic ``step`` in one transaction, serialised across hosts on PostgreSQL.

    SQLite alters a table by copying it (batch mode): with foreign keys enforced, dropping the old copy
    would fail, or worse cascade-delete the rows that reference it. So enforcement is off while the
    migration runs (it can only be switched outside a transaction), the references are checked with
    ``PRAGMA foreign_key_check`` before commit, and enforcement is back on afterwards.
    """
    config = alembic_config()
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
                config.attributes["connection"] = conn
                step(config)
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left rows with broken references: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (``upgrade head`` at startup); safe to run from many hosts."""
    _migrate(engine, lambda config: command.upgrade(config, revision))
    log.info("database schema at %s", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (see each migration's ``downgrade`` for what is lost)."""
    _migrate(engine, lambda config: command.downgrade(config, revision))
    log.info("database schema at %s", revision)


def open_database(url: str, *, migrate: bool = True) -> tuple[Engine, sessionmaker[Session]]:
    """Engine plus session factory for ``url``, migrated to the newest schema when ``migrate``."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return engine, make_session_factory(engine)
