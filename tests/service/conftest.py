"""Fixtures of the service tests: migrated SQLite databases, a live API server, a real PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import Server, free_port, migrated_sqlite, run_server
from waihu.service.db import open_database
from waihu.service.settings import Settings


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    """A fresh SQLite file migrated to head (a copy of one migrated once per process)."""
    engine, factory = open_database(migrated_sqlite(tmp_path / "waihu.db"))
    yield engine, factory
    engine.dispose()


@pytest.fixture
def factory(sqlite_db: tuple[Engine, sessionmaker[Session]]) -> sessionmaker[Session]:
    """Session factory of :func:`sqlite_db`."""
    return sqlite_db[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A live uvicorn server on a fresh SQLite database (shared by a test module).

    Webhooks may go to local receivers over plain HTTP (the allow-list settings); production defaults
    refuse both (see tests/security).
    """
    db = tmp_path_factory.mktemp("api") / "waihu.db"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        background=False,
        webhook_allow_http=True,
        webhook_allow=("127.0.0.1",),
    )
    with run_server(settings) as running:
        yield running


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """A throw-away PostgreSQL cluster in a temp dir, on a free loopback port."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="waihu-pg-"))
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            os.chmod(self.root, 0o777)
        self.data = self.root / "data"
        self.user = "postgres" if self.as_user else os.environ.get("USER", "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """initdb + pg_ctl start (trust auth, loopback only, fsync off for speed)."""
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8"
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """pg_ctl stop and remove the cluster."""
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database``."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (needs the ``postgresql`` Debian package; skipped without it)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the PostgreSQL server."""
    import psycopg

    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name.lower())[:50]
    with psycopg.connect(postgres.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres.url(name)
