"""Line limits hold with several worker *processes* claiming at once (PostgreSQL and SQLite).

Each round every process waits on a barrier, claims up to ``concurrency`` contacts at the same moment,
and the in-progress count is checked; then each process finishes a random part of what it holds, so
later rounds claim only the remainder next to attempts still up.
"""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.service.helpers import MONDAY_10_SHANGHAI, add_contacts, hang_up_part, make_campaign
from waihu.service.db import make_engine, make_session_factory, open_database
from waihu.service.models import Attempt
from waihu.service.outcomes import IN_PROGRESS
from waihu.service.scheduler import claim_due_contacts

NOW = MONDAY_10_SHANGHAI
CONCURRENCY = 3
WORKERS = 4
ROUNDS = 12


def _in_progress(factory: Any, campaign_id: int) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Attempt)
                .where(Attempt.campaign_id == campaign_id, Attempt.status.in_(IN_PROGRESS))
            )
        )


def _claimer(url: str, name: str, campaign_id: int, barrier: Any, out: Any, seed: int) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(seed)
    held: list[str] = []
    try:
        for round_no in range(ROUNDS):
            barrier.wait(timeout=120)  # everybody claims at the same moment
            with factory() as session:
                got = claim_due_contacts(session, name, NOW, CONCURRENCY, campaign_ids=[campaign_id])
            held += [claim.attempt_id for claim in got]
            barrier.wait(timeout=120)  # every claim is committed: count
            out.put((round_no, name, len(got), _in_progress(factory, campaign_id)))
            barrier.wait(timeout=120)
            held = hang_up_part(factory, held, rng, NOW)  # a random part of the calls ends
    except BaseException as exc:  # reported to the parent
        out.put(("error", name, repr(exc), 0))
        barrier.abort()
    finally:
        engine.dispose()


def _run_claimers(url: str) -> list[tuple[Any, ...]]:
    _engine, factory = open_database(url)
    try:
        with factory() as session:
            campaign = make_campaign(session, concurrency=CONCURRENCY)
            add_contacts(session, campaign.id, WORKERS * CONCURRENCY * ROUNDS)
            campaign_id = campaign.id
    finally:
        _engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    out = context.Queue()
    processes = [
        context.Process(target=_claimer, args=(url, f"w{i}", campaign_id, barrier, out, i))
        for i in range(WORKERS)
    ]
    for process in processes:
        process.start()
    reports = [out.get(timeout=300) for _ in range(WORKERS * ROUNDS)]
    for process in processes:
        process.join(timeout=60)
    errors = [report for report in reports if report[0] == "error"]
    assert errors == []
    return reports


def _check(reports: list[tuple[Any, ...]]) -> None:
    by_round: dict[int, list[tuple[Any, ...]]] = {}
    for report in reports:
        by_round.setdefault(report[0], []).append(report)
    assert len(by_round) == ROUNDS
    max_seen = max(report[3] for report in reports)
    total_claimed = sum(report[2] for report in reports)
    assert max_seen <= CONCURRENCY, f"{max_seen} calls up with concurrency={CONCURRENCY}"
    assert max_seen == CONCURRENCY  # the lines were really used up
    assert total_claimed >= ROUNDS  # and freed lines were claimed again
    for round_reports in by_round.values():
        assert sum(report[2] for report in round_reports) <= CONCURRENCY


def test_line_limit_holds_with_worker_processes_on_postgres(pg_url: str) -> None:
    _check(_run_claimers(pg_url))


def test_line_limit_holds_with_worker_processes_on_sqlite(tmp_path: Path) -> None:
    _check(_run_claimers(f"sqlite:///{tmp_path / 'waihu.db'}"))
