"""Shared helpers of the service tests: flows, campaigns, contacts and a real uvicorn server."""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import random
import shutil
import socket
import sqlite3
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from dialog.state import CallResult
from tests.conftest import MINIMAL_FLOW
from waihu.call_record import CallRecord
from waihu.server import create_app
from waihu.service.apikeys import create_api_key
from waihu.service.db import open_database
from waihu.service.flows import store_flow
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Campaign, FlowVersion, utcnow
from waihu.service.policy import DEFAULT_RETRY_POLICY
from waihu.service.scheduler import record_result
from waihu.service.settings import Settings

ALL_DAY = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]
#: Monday 2026-11-23 10:00 in Shanghai.
MONDAY_10_SHANGHAI = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """The default TLS context, built once per test process.

    httpx builds one for every ``Client`` (even for ``http://`` URLs) by loading the CA store, ~40 ms;
    the tests open hundreds of clients. Verification stays on: it is the context httpx builds itself.
    """
    return httpx.create_ssl_context()


def http_client(base_url: str, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` on ``base_url`` sharing :func:`shared_tls`."""
    return httpx.Client(base_url=base_url, verify=shared_tls(), **kwargs)


@functools.cache
def _schema_at_head() -> Path:
    """A SQLite file the real migrations brought to head, made once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="waihu-schema-"))
    atexit.register(shutil.rmtree, folder, True)
    template = folder / "head.db"
    engine, _factory = open_database(f"sqlite:///{template}")
    engine.dispose()
    with closing(sqlite3.connect(template)) as conn:  # one self-contained file (no -wal beside it)
        conn.execute("PRAGMA journal_mode=DELETE")
    return template


def migrated_sqlite(path: Path) -> str:
    """``sqlite:///<path>``; a new ``path`` starts as a copy of a database migrated to head.

    The migration chain (SQLite rebuilds tables in batch mode) is most of a small service test's
    time, so it runs once per test process; ``open_database``/``create_app`` on the copy still run
    ``upgrade head``, which finds nothing to do. An existing file is left alone.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_schema_at_head(), path)
    return f"sqlite:///{path}"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flow_row(session: Session, text: str = MINIMAL_FLOW) -> FlowVersion:
    """Store the minimal flow (or ``text``) and return its version row."""
    stored = store_flow(session, text)
    session.commit()
    return stored.version


def make_campaign(session: Session, **overrides: Any) -> Campaign:
    """A runnable campaign on the minimal flow, open all day unless ``windows`` says otherwise."""
    flow = flow_row(session)
    values: dict[str, Any] = {
        "name": "test",
        "flow_version_id": flow.id,
        "flow_id": flow.flow_id,
        "flow_version": flow.version,
        "timezone": "Asia/Shanghai",
        "windows": ALL_DAY,
        "max_attempts": 3,
        "max_attempts_per_day": 2,
        "retry_policy": {k: v.model_dump() for k, v in DEFAULT_RETRY_POLICY.items()},
        "concurrency": 10,
        "caller_numbers": ["+862100000001"],
        "priority": 0,
        "state": "scheduling",
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    values.update(overrides)
    campaign = Campaign(**values)
    session.add(campaign)
    session.commit()
    return campaign


def add_contacts(
    session: Session, campaign_id: int, count: int, *, start: int = 0, now: dt.datetime | None = None
) -> None:
    """Import ``count`` valid contacts with reference ids ``c<start>``… and distinct mobile numbers."""
    rows = [
        RawRow(i + 1, {"reference_id": f"c{start + i}", "phone": f"138{start + i:08d}", "name": f"n{i}"})
        for i in range(count)
    ]
    report = import_contacts(session, campaign_id, rows, now=now or dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    session.commit()
    assert report.created == count, report.errors[:3]


def hang_up_part(factory: Any, held: list[str], rng: random.Random, now: dt.datetime) -> list[str]:
    """Record ``answered`` for a random half of the ``held`` attempts (each its own session, as a
    worker saves each call); the attempts still held."""
    keep = [attempt for attempt in held if rng.random() < 0.5]
    for attempt_id in held:
        if attempt_id not in keep:
            with factory() as session:
                record_result(session, attempt_id, CallRecord(outcome="answered"), now)
    return keep


def graded_call(grade: str, tags: list[str] | None = None, *, flow_id: str = "mini") -> CallResult:
    """An engine result of an answered call graded ``grade`` with ``tags`` (two rounds, no trace)."""
    return CallResult(
        flow_id=flow_id,
        flow_version=1,
        outcome="callee_hangup",
        hangup_reason=None,
        grade=grade,
        grade_label="",
        tags=list(tags or []),
        dnc=False,
        rounds=2,
        kb_hits=[],
        visited=[],
        barge_ins=0,
        trace=[],
    )


def strategy_and_operator(server: Server, label: str, *flows: str) -> dict[str, str]:
    """A strategy and an operator key of the default tenant, the operator having uploaded ``flows``
    (default: the minimal flow)."""
    with server.client() as admin:
        keys = {
            role: admin.post("/v1/keys", json={"name": f"{label} {role}", "role": role}).json()["key"]
            for role in ("strategy", "operator")
        }
    with server.client(keys["operator"]) as operator:
        for text in flows or (MINIMAL_FLOW,):
            uploaded = operator.post("/v1/flows", content=text, headers={"Content-Type": "application/yaml"})
            assert uploaded.status_code in (200, 201), uploaded.text
    return keys


#: The tenant of the platform admin key every test server gets.
PLATFORM_TENANT = "platform"


@dataclass
class Server:
    """A running API server, an admin key of the ``default`` tenant and a platform admin's key."""

    base_url: str
    admin_key: str
    settings: Settings
    platform_key: str = ""
    app: Any = None

    def client(self, key: str | None = None) -> httpx.Client:
        """An HTTP client, authenticated with ``key`` (default: the admin key)."""
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        return http_client(self.base_url, headers=headers, timeout=60)


@contextmanager
def run_server(settings: Settings) -> Iterator[Server]:
    """Start uvicorn with :func:`create_app` in a thread on a free loopback port.

    A new SQLite file starts from :func:`migrated_sqlite` (the app's own ``upgrade head`` then has
    nothing to do).
    """
    database = make_url(settings.database_url)
    if database.get_backend_name() == "sqlite" and database.database not in (None, "", ":memory:"):
        migrated_sqlite(Path(database.database))
    app = create_app(settings)
    factory = app.state.service.factory
    with factory() as session:
        _key, token = create_api_key(session, "test admin", "admin")
        _key, platform = create_api_key(
            session, "platform admin", "admin", tenant=PLATFORM_TENANT, platform_admin=True
        )
        session.commit()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", token, settings, platform, app)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
