"""``last_used_at`` of API keys: written at most once a minute per key, never at a request's expense.

The write used to happen inside the request's read transaction: on SQLite, with an import or a worker
writing, upgrading that transaction fails at once with ``database is locked`` and a read-only GET
answered 500. Now the use is recorded in its own short transaction that waits at most
:data:`WAIT_MS` for the lock and is simply skipped (tried again a minute later) when it cannot get it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from sqlalchemy import Engine, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.attributes import set_committed_value

from waihu.service.db import SQLITE_BUSY_TIMEOUT_MS
from waihu.service.models import ApiKey, utcnow

log = logging.getLogger(__name__)

#: How often one key's use is written.
EVERY = dt.timedelta(minutes=1)
#: How long the write may wait for a lock before it is skipped.
WAIT_MS = 100


class KeyUseRecorder:
    """Records keys' last use, throttled per key in this process and best effort."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tried: dict[str, float] = {}
        self._lock = threading.Lock()

    def _due(self, key: ApiKey, now: dt.datetime) -> bool:
        if key.last_used_at is not None and now - key.last_used_at < EVERY:
            return False
        clock = time.monotonic()
        with self._lock:
            if clock - self._tried.get(key.id, float("-inf")) < EVERY.total_seconds():
                return False
            self._tried[key.id] = clock
            if len(self._tried) > 10_000:  # keys are few; forget the oldest tries if they are not
                for stale in sorted(self._tried, key=self._tried.__getitem__)[:5_000]:
                    del self._tried[stale]
        return True

    def record(self, key: ApiKey, now: dt.datetime | None = None) -> bool:
        """Write ``key``'s ``last_used_at`` if a minute has passed; False when skipped or locked."""
        now = now or utcnow()
        if not self._due(key, now):
            return False
        try:
            with self.engine.connect() as conn:
                sqlite = conn.dialect.name == "sqlite"
                raw = conn.connection.dbapi_connection if sqlite else None
                if raw is not None:
                    raw.execute(f"PRAGMA busy_timeout={WAIT_MS}")
                try:
                    with conn.begin():
                        if conn.dialect.name == "postgresql":
                            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{WAIT_MS}ms'")
                        conn.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
                finally:
                    if raw is not None:
                        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        except DBAPIError as exc:
            log.info("last_used_at of key %s not recorded now (%s)", key.id, exc.orig)
            return False
        set_committed_value(key, "last_used_at", now)  # the request's session stays clean
        return True
