"""Benchmark: import 100,000 contacts over HTTP (JSON, then CSV), read counters and page results.

    .venv/bin/python bench/api_import.py [--contacts 100000] [--database-url URL]

Starts the API with uvicorn on a free loopback port (a temporary SQLite database by default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, run_server
from waihu.service.settings import Settings


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    with run_server(Settings(database_url=url, background=False)) as server, server.client() as client:
        client.post("/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"})
        ids = []
        for name in ("json", "csv"):
            body = {"name": name, "flow_id": "mini", "windows": ALL_DAY}
            ids.append(client.post("/v1/campaigns", json=body).json()["id"])
        contacts = [
            {"reference_id": f"ref-{i}", "phone": f"13{i % 10}{i:08d}", "variables": {"amount": str(i)}}
            for i in range(args.contacts)
        ]
        started = time.perf_counter()
        report = client.post(f"/v1/campaigns/{ids[0]}/contacts", json={"contacts": contacts}).json()
        json_s = time.perf_counter() - started
        print(f"JSON import: {report['created']} contacts in {json_s:.2f} s over HTTP")
        started = time.perf_counter()
        report = client.post(f"/v1/campaigns/{ids[0]}/contacts", json={"contacts": contacts}).json()
        print(f"JSON re-import (all existing): {report['existing']} in {time.perf_counter() - started:.2f} s")
        lines = ["reference_id,phone,amount"] + [
            f"ref-{i},13{i % 10}{i:08d},{i}" for i in range(args.contacts)
        ]
        csv_body = ("\n".join(lines) + "\n").encode()
        started = time.perf_counter()
        headers = {"Content-Type": "text/csv"}
        report = client.post(f"/v1/campaigns/{ids[1]}/contacts", content=csv_body, headers=headers).json()
        print(f"CSV import: {report['created']} contacts in {time.perf_counter() - started:.2f} s over HTTP")
        started = time.perf_counter()
        for _ in range(20):
            client.get(f"/v1/campaigns/{ids[0]}")
        elapsed_ms = (time.perf_counter() - started) * 1000 / 20
        print(f"GET campaign with counters ({args.contacts} contacts): {elapsed_ms:.1f} ms")
        started = time.perf_counter()
        page = client.get(f"/v1/campaigns/{ids[0]}/contacts", params={"limit": 500}).json()
        pages = 1
        while page["next_cursor"] and pages < 20:
            cursor = page["next_cursor"]
            page = client.get(
                f"/v1/campaigns/{ids[0]}/contacts", params={"limit": 500, "cursor": cursor}
            ).json()
            pages += 1
        elapsed_ms = (time.perf_counter() - started) * 1000 / pages
        print(f"contacts page of 500: {elapsed_ms:.1f} ms per page ({pages} pages)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
