"""Benchmark: import a 100,000-contact campaign, then claim and record results as workers do.

    .venv/bin/python bench/scheduler_claim.py [--contacts 100000] [--batch 4] [--rounds 300]
        [--database-url postgresql+psycopg://user@127.0.0.1:5432/db]

Prints import time, claim latency (p50/p95/max) and record_result latency. Default: a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MINIMAL_FLOW
from waihu.service.attempt_result import AttemptResult
from waihu.service.db import open_database
from waihu.service.flows import store_flow
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Campaign, utcnow
from waihu.service.scheduler import claim_due_contacts, record_result

ALL_DAY = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values_ms: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    p50, p95 = statistics.median(values_ms), pct(values_ms, 95)
    return f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {max(values_ms):.2f} ms"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=4, help="contacts per claim (a worker's free lines)")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    engine, factory = open_database(url)
    now = utcnow()
    with factory() as session:
        flow = store_flow(session, MINIMAL_FLOW).version
        session.flush()
        campaign = Campaign(
            name="bench", flow_version_id=flow.id, flow_id=flow.flow_id, flow_version=flow.version,
            timezone="Asia/Shanghai", windows=ALL_DAY, max_attempts=3, max_attempts_per_day=3,
            retry_policy={"no_answer": {"interval_s": 3600, "max": 2}}, concurrency=10_000,
            caller_numbers=["+862100000001"], priority=0, state="scheduling", created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(campaign)
        session.commit()
        rows = [
            RawRow(
                i + 1,
                {"reference_id": f"ref-{i}", "phone": f"13{i % 10}{i:08d}", "variables": {"amount": str(i)}},
            )
            for i in range(args.contacts)
        ]
        started = time.perf_counter()
        report = import_contacts(session, campaign.id, rows, now=now)
        session.commit()
        import_s = time.perf_counter() - started
    print(f"database: {engine.dialect.name}")
    print(f"import: {report.created} contacts in {import_s:.2f} s ({report.created / import_s:,.0f} rows/s)")
    claim_ms: list[float] = []
    record_ms: list[float] = []
    clock = now + dt.timedelta(seconds=1)
    for _ in range(args.rounds):
        with factory() as session:
            started = time.perf_counter()
            claims = claim_due_contacts(session, "bench", clock, args.batch)
            claim_ms.append((time.perf_counter() - started) * 1000)
            for claim in claims:
                started = time.perf_counter()
                record_result(
                    session, claim.attempt_id, AttemptResult(outcome="no_answer", sip_code=480), clock
                )
                record_ms.append((time.perf_counter() - started) * 1000)
    print(f"claim_due_contacts(limit={args.batch}) over {args.rounds} rounds: {summary(claim_ms)}")
    print(f"record_result over {len(record_ms)} attempts: {summary(record_ms)}")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
