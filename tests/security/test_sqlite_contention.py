"""Point 8: read-only requests keep answering while other processes and an import write to SQLite.

Authentication used to write ``last_used_at`` inside the request's read transaction: with another writer
active that upgrade fails (``database is locked``, HTTP 500) or waits for the writer to finish.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import MINIMAL_FLOW
from tests.security.conftest import make_server
from tests.service.helpers import ALL_DAY

#: Another process holds SQLite's write lock for this long (as a long import in a worker would).
HOLD_S = 4.0

_HOLDER = """
import os, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("PRAGMA busy_timeout=30000")
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE seat SET name = name")
conn.execute("INSERT INTO dnc (phone, reason, source, created_at) VALUES (?, 'x', 'x', '2026-01-01 00:00:00')", (f"+86139{os.getpid():08d}",))
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


def _timed_get(base_url: str, key: str, path: str) -> tuple[int, float, str]:
    started = time.monotonic()
    response = httpx.get(base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return response.status_code, time.monotonic() - started, response.text[:200]


def test_reads_answer_while_other_processes_and_an_import_write(tmp_path: Path) -> None:
    with make_server(tmp_path) as server:
        with server.client() as admin:
            assert (
                admin.post(
                    "/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"}
                ).status_code
                == 201
            )
            body = {"name": "c", "flow_id": "mini", "windows": ALL_DAY, "timezone": "Asia/Shanghai"}
            campaign = admin.post("/v1/campaigns", json=body).json()
            fresh = [
                admin.post("/v1/keys", json={"name": f"reader {i}", "role": "strategy"}).json()["key"]
                for i in range(12)
            ]
        db = server.settings.database_url.removeprefix("sqlite:///")
        rows = [{"reference_id": f"i{i}", "phone": f"139{i:08d}"} for i in range(30_000)]
        imported: dict[str, int] = {}

        def run_import() -> None:
            with server.client() as client:
                imported["status"] = client.post(
                    f"/v1/campaigns/{campaign['id']}/contacts", json=rows
                ).status_code

        holders = [
            subprocess.Popen(
                [sys.executable, "-c", _HOLDER, db, str(HOLD_S)], stdout=subprocess.PIPE, text=True
            )
        ]
        try:
            assert holders[0].stdout is not None and holders[0].stdout.readline().strip() == "locked"
            importer = threading.Thread(target=run_import)
            importer.start()
            paths = ["/v1/campaigns", f"/v1/campaigns/{campaign['id']}", "/v1/dnc", "/v1/results"]
            with ThreadPoolExecutor(max_workers=6) as pool:
                results = list(
                    pool.map(
                        lambda item: _timed_get(server.base_url, item[1], paths[item[0] % len(paths)]),
                        enumerate(fresh),
                    )
                )
            # a second writer process queues behind the first while more reads come in
            holders.append(
                subprocess.Popen([sys.executable, "-c", _HOLDER, db, "1"], stdout=subprocess.PIPE, text=True)
            )
            with ThreadPoolExecutor(max_workers=6) as pool:
                results += list(
                    pool.map(
                        lambda key: _timed_get(server.base_url, key, "/v1/campaigns"),
                        [*fresh, server.admin_key],
                    )
                )
            importer.join(timeout=120)
        finally:
            for holder in holders:
                holder.wait(timeout=60)
        assert [status for status, _s, _t in results] == [200] * len(results), results
        slowest = max(seconds for _status, seconds, _text in results)
        assert slowest < HOLD_S / 2, f"reads waited for the writer: {slowest:.2f} s"
        assert imported.get("status") == 200
        with server.client() as admin:
            used = [k for k in admin.get("/v1/keys").json()["items"] if k["name"].startswith("reader")]
        assert len(used) == 12


def test_key_use_is_recorded_at_most_once_a_minute(tmp_path: Path) -> None:
    with make_server(tmp_path) as server, server.client() as admin:
        key = admin.post("/v1/keys", json={"name": "crm", "role": "strategy"}).json()
        with server.client(key["key"]) as strategy:
            assert strategy.get("/v1/campaigns").status_code == 200
            first = next(k for k in admin.get("/v1/keys").json()["items"] if k["id"] == key["id"])
            assert first["last_used_at"] is not None
            for _ in range(5):
                assert strategy.get("/v1/campaigns").status_code == 200
        again = next(k for k in admin.get("/v1/keys").json()["items"] if k["id"] == key["id"])
        assert again["last_used_at"] == first["last_used_at"]
