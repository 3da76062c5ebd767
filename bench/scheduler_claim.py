"""Benchmark: import a 100,000-contact campaign, then claim and record results as workers do.

    .venv/bin/python bench/scheduler_claim.py [--contacts 100000] [--batch 4] [--rounds 300]
        [--database-url postgresql+psycopg://user@127.0.0.1:5432/db | --postgres] [--workers 8]
        [--trunk-lines 20] [--trunk-cps 50]

Prints import time, claim latency (p50/p95/max) and record_result latency. Default: a temporary SQLite file;
``--postgres`` starts a throw-away PostgreSQL cluster (as the tests do). ``--workers N``: N processes
claim and record at once, ``--rounds`` each, as N telephony workers on one database do.
``--trunk-lines``/``--trunk-cps``: every worker claims on one trunk with these limits (its row lock is
then taken by every claim); the run also prints the most starts seen in any 1-s window of the database
clock stamps, and claims refused by the pacer wait ``PACED_POLL_S`` before trying again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from tests.conftest import MINIMAL_FLOW
from waihu.call_record import CallRecord
from waihu.service.db import open_database
from waihu.service.flows import store_flow
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Attempt, Campaign, utcnow
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.trunk_limits import upsert_trunk

ALL_DAY = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]
TRUNK = "bench-trunk"
#: A paced-out claim's wait before the next try (a real worker polls every 0.5 s).
PACED_POLL_S = 0.05


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values_ms: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    p50, p95 = statistics.median(values_ms), pct(values_ms, 95)
    return f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {max(values_ms):.2f} ms"


def claim_rounds(
    url: str,
    worker: str,
    clock: dt.datetime,
    batch: int,
    rounds: int,
    start: Any = None,
    trunk: str | None = None,
) -> tuple[list[float], list[float]]:
    """One worker's loop: claim ``batch`` contacts, record a result for each; latencies in ms."""
    engine, factory = open_database(url, migrate=False)
    if start is not None:
        start.wait()  # every worker starts claiming at the same moment
    claim_ms: list[float] = []
    record_ms: list[float] = []
    for _ in range(rounds):
        with factory() as session:
            started = time.perf_counter()
            claims = claim_due_contacts(session, worker, clock, batch, trunk=trunk)
            claim_ms.append((time.perf_counter() - started) * 1000)
            if trunk is not None and not claims:
                time.sleep(PACED_POLL_S)
            for claim in claims:
                started = time.perf_counter()
                record_result(session, claim.attempt_id, CallRecord(outcome="no_answer", sip_code=480), clock)
                record_ms.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return claim_ms, record_ms


def _worker_main(args: tuple[str, str, dt.datetime, int, int, Any, Any, str | None]) -> None:
    url, worker, clock, batch, rounds, start, results, trunk = args
    results.put(claim_rounds(url, worker, clock, batch, rounds, start, trunk))


def concurrent_rounds(
    url: str, workers: int, clock: dt.datetime, batch: int, rounds: int, trunk: str | None = None
) -> tuple[list[float], list[float]]:
    """``workers`` processes running :func:`claim_rounds` at once; all their latencies."""
    ctx = multiprocessing.get_context("spawn")  # no SQLAlchemy pool or socket shared across a fork
    start, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker_main, args=((url, f"bench-{n}", clock, batch, rounds, start, results, trunk),)
        )
        for n in range(workers)
    ]
    for proc in procs:
        proc.start()
    claim_ms: list[float] = []
    record_ms: list[float] = []
    for _ in procs:
        claims, records = results.get()
        claim_ms += claims
        record_ms += records
    for proc in procs:
        proc.join()
    return claim_ms, record_ms


def trunk_window(url: str) -> str:
    """The most starts on the bench trunk in any 1-s window of its database-clock stamps."""
    engine, factory = open_database(url, migrate=False)
    with factory() as session:
        stamps = sorted(session.scalars(select(Attempt.trunk_claimed_at).where(Attempt.trunk == TRUNK)))
    engine.dispose()
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= dt.timedelta(seconds=1):
            first += 1
        most = max(most, last - first + 1)
    return f"{len(stamps)} starts, at most {most} in any 1-s window (database clock)"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=4, help="contacts per claim (a worker's free lines)")
    parser.add_argument("--rounds", type=int, default=300, help="claims per worker")
    parser.add_argument("--workers", type=int, default=1, help="processes claiming at once")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL cluster")
    parser.add_argument("--trunk-lines", type=int, default=None, help="claim on a trunk with this line cap")
    parser.add_argument("--trunk-cps", type=int, default=None, help="claim on a trunk with this CPS limit")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    server = None
    if args.postgres:
        from tests.service.conftest import PostgresServer, _pg_bin

        bin_dir = _pg_bin()
        if bin_dir is None:
            sys.exit("PostgreSQL is not installed (apt-get install -y postgresql)")
        server = PostgresServer(bin_dir)
        server.start()
    url = server.url() if server else args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
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
    trunk = None
    if args.trunk_lines is not None or args.trunk_cps is not None:
        trunk = TRUNK
        with factory() as session:
            upsert_trunk(session, trunk, max_lines=args.trunk_lines, max_cps=args.trunk_cps)
    engine.dispose()
    clock = now + dt.timedelta(seconds=1)
    started = time.perf_counter()
    if args.workers > 1:
        claim_ms, record_ms = concurrent_rounds(url, args.workers, clock, args.batch, args.rounds, trunk)
    else:
        claim_ms, record_ms = claim_rounds(url, "bench", clock, args.batch, args.rounds, trunk=trunk)
    elapsed = time.perf_counter() - started
    print(
        f"claim_due_contacts(limit={args.batch}), {args.workers} worker(s) x {args.rounds} rounds: "
        f"{summary(claim_ms)}"
    )
    print(f"record_result over {len(record_ms)} attempts: {summary(record_ms)}")
    print(f"throughput: {len(record_ms) / elapsed:,.0f} attempts claimed and recorded per second")
    if trunk is not None:
        print(f"trunk max_lines={args.trunk_lines} max_cps={args.trunk_cps}: {trunk_window(url)}")
    if server is not None:
        server.stop()
    tmp.cleanup()


if __name__ == "__main__":
    main()
