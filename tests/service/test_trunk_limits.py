"""Per-trunk line cap and CPS pacing hold across worker *processes* on PostgreSQL and SQLite.

Worker-like processes (each its own engine and connections, as ``waihu worker`` on other hosts) upsert
their trunk's limits at start, then claim with ``trunk=`` as the worker loop does. Lines: every round
all processes claim at the same moment (a barrier) and the trunk's calls in progress are sampled.
Pacing: processes claim as fast as they can poll; the start stamps the claim wrote under the trunk's
lock (the database clock) must never put more than ``max_cps`` starts in any 1-s window. Nothing here
measures wall-clock durations.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.service.helpers import MONDAY_10_SHANGHAI, Server, add_contacts, hang_up_part, make_campaign
from waihu.call_record import CallRecord
from waihu.calls.trunk import TrunkError, checked, load_trunk_file
from waihu.service.db import make_engine, make_session_factory, open_database
from waihu.service.models import Attempt, Contact, Trunk
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.trunk_limits import TrunkLimitError, checked_limits, lines_in_use, upsert_trunk

NOW = MONDAY_10_SHANGHAI
#: trunk → (max_lines, max_cps) of the line test and of the pacing test; two workers per trunk.
LINE_TRUNKS = {"carrier-a": (3, None), "carrier-b": (2, None)}
CPS_TRUNKS = {"slow-1cps": (None, 1), "fast-3cps": (None, 3)}
#: Starts each trunk of the pacing test must see (≈ 4 s at 1 CPS).
CPS_STARTS = {"slow-1cps": 5, "fast-3cps": 10}
ROUNDS = 8
WORKERS_PER_TRUNK = 2


def _trunk_of(index: int, trunks: dict[str, Any]) -> str:
    return list(trunks)[index % len(trunks)]


def _line_claimer(url: str, index: int, campaign_id: int, barrier: Any, out: Any) -> None:
    """Rounds of: claim as many lines as the trunk has, sample, hang up a random part."""
    trunk = _trunk_of(index, LINE_TRUNKS)
    max_lines, max_cps = LINE_TRUNKS[trunk]
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(index)
    held: list[str] = []
    try:
        with factory() as session:  # what `waihu worker --trunk-name … --trunk-max-lines …` does at start
            upsert_trunk(session, trunk, max_lines=max_lines, max_cps=max_cps)
        for round_no in range(ROUNDS):
            barrier.wait(timeout=120)  # everybody claims at the same moment
            with factory() as session:
                got = claim_due_contacts(
                    session, f"w{index}", NOW, max_lines, campaign_ids=[campaign_id], trunk=trunk
                )
            held += [claim.attempt_id for claim in got]
            barrier.wait(timeout=120)  # every claim is committed: sample
            with factory() as session:
                out.put((round_no, trunk, len(got), lines_in_use(session, trunk)))
            barrier.wait(timeout=120)
            held = hang_up_part(factory, held, rng, NOW)
    except BaseException as exc:  # reported to the parent
        out.put(("error", trunk, repr(exc), 0))
        barrier.abort()
    finally:
        engine.dispose()


def _paced_claimer(url: str, index: int, campaign_id: int, barrier: Any, out: Any) -> None:
    """Claim, hang up at once, poll again, until the trunk has seen its starts (no line cap)."""
    trunk = _trunk_of(index, CPS_TRUNKS)
    max_lines, max_cps = CPS_TRUNKS[trunk]
    engine = make_engine(url)
    factory = make_session_factory(engine)
    empty = 0
    try:
        with factory() as session:
            upsert_trunk(session, trunk, max_lines=max_lines, max_cps=max_cps)
        barrier.wait(timeout=120)
        deadline = time.monotonic() + 120  # a guard against a hang, not a measurement
        while time.monotonic() < deadline:
            with factory() as session:
                started = session.scalar(
                    select(func.count()).select_from(Attempt).where(Attempt.trunk == trunk)
                )
            if started >= CPS_STARTS[trunk]:
                break
            with factory() as session:  # a claim starts its own writer transaction
                got = claim_due_contacts(
                    session, f"w{index}", NOW, 4, campaign_ids=[campaign_id], trunk=trunk
                )
            empty += not got
            for claim in got:
                with factory() as session:
                    record_result(session, claim.attempt_id, CallRecord(outcome="answered"), NOW)
            time.sleep(0.05)  # the worker's poll
        out.put((index, trunk, empty, None))
    except BaseException as exc:  # reported to the parent
        out.put(("error", trunk, repr(exc), None))
        barrier.abort()
    finally:
        engine.dispose()


def _run(
    url: str, target: Callable[..., None], trunks: dict[str, Any], contacts: int
) -> tuple[Any, list[Any]]:
    """Start ``WORKERS_PER_TRUNK`` processes per trunk running ``target``; their reports."""
    engine, factory = open_database(url)
    with factory() as session:
        campaign = make_campaign(session, concurrency=10_000)  # only the trunks limit here
        add_contacts(session, campaign.id, contacts)
        campaign_id = campaign.id
    engine.dispose()
    workers = WORKERS_PER_TRUNK * len(trunks)
    context = multiprocessing.get_context("spawn")  # no pool or socket shared across a fork
    barrier, out = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=target, args=(url, i, campaign_id, barrier, out)) for i in range(workers)
    ]
    for process in processes:
        process.start()
    expected = workers * ROUNDS if target is _line_claimer else workers
    reports = [out.get(timeout=300) for _ in range(expected)]
    for process in processes:
        process.join(timeout=60)
    assert [report for report in reports if report[0] == "error"] == []
    return campaign_id, reports


def _check_lines(url: str) -> None:
    _campaign_id, reports = _run(url, _line_claimer, LINE_TRUNKS, WORKERS_PER_TRUNK * 3 * ROUNDS * 2)
    for trunk, (max_lines, _cps) in LINE_TRUNKS.items():
        mine = [report for report in reports if report[1] == trunk]
        samples = [report[3] for report in mine]
        assert max(samples) <= max_lines, f"{max(samples)} calls up on {trunk} with max_lines={max_lines}"
        # each round the first claimer fills the trunk's free lines, the other gets none: exactly full
        assert set(samples) == {max_lines}
        by_round: dict[int, int] = {}
        for round_no, _trunk, got, _sample in mine:
            by_round[round_no] = by_round.get(round_no, 0) + got
        assert sum(by_round.values()) > max_lines  # lines freed by hang-ups were claimed again
    _check_contacts(url)


def _check_pacing(url: str) -> None:
    campaign_id, reports = _run(url, _paced_claimer, CPS_TRUNKS, 40)
    _engine, factory = open_database(url, migrate=False)
    try:
        with factory() as session:
            for trunk, (_lines, max_cps) in CPS_TRUNKS.items():
                stamps = sorted(
                    session.scalars(select(Attempt.trunk_claimed_at).where(Attempt.trunk == trunk)).all()
                )
                assert len(stamps) >= CPS_STARTS[trunk]
                # any max_cps + 1 consecutive starts span at least a second of the database clock
                spans = [later - earlier for earlier, later in zip(stamps, stamps[max_cps:], strict=False)]
                assert min(spans) >= dt.timedelta(seconds=1), f"{trunk}: {max_cps + 1} starts in {min(spans)}"
            assert (
                session.scalar(select(func.count()).select_from(Attempt).where(Attempt.trunk.is_(None))) == 0
            )
        assert sum(report[2] for report in reports) > 0  # the pacer did refuse claims (and lost none:)
    finally:
        _engine.dispose()
    _check_contacts(url, campaign_id)


def _check_contacts(url: str, campaign_id: int | None = None) -> None:
    """Every claimed contact has exactly one attempt per claim; refused claims left contacts pending."""
    engine, factory = open_database(url, migrate=False)
    try:
        with factory() as session:
            per_contact = session.execute(
                select(Attempt.contact_id, func.count()).group_by(Attempt.contact_id)
            ).all()
            assert all(count == 1 for _contact, count in per_contact)  # no contact claimed twice
            states = dict(session.execute(select(Contact.state, func.count()).group_by(Contact.state)).all())
            assert states.get("done", 0) + states.get("pending", 0) + states.get("dialling", 0) == sum(
                states.values()
            )
            if campaign_id is not None:  # the pacing test hung up every call it claimed
                assert states.get("dialling", 0) == 0
                assert states.get("done", 0) == len(per_contact)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_trunk_line_cap_holds_across_worker_processes_on_postgres(pg_url: str) -> None:
    _check_lines(pg_url)


def test_trunk_line_cap_holds_across_worker_processes_on_sqlite(tmp_path: Path) -> None:
    _check_lines(f"sqlite:///{tmp_path / 'waihu.db'}")


@pytest.mark.postgres
def test_trunk_cps_pacing_holds_across_worker_processes_on_postgres(pg_url: str) -> None:
    _check_pacing(pg_url)


def test_trunk_cps_pacing_holds_across_worker_processes_on_sqlite(tmp_path: Path) -> None:
    _check_pacing(f"sqlite:///{tmp_path / 'waihu.db'}")


def test_campaign_concurrency_still_applies_under_a_trunk(factory: Any) -> None:
    with factory() as session:
        upsert_trunk(session, "big", max_lines=5)
        small = make_campaign(session, concurrency=2, priority=1)
        other = make_campaign(session, concurrency=10)
        add_contacts(session, small.id, 5)
        add_contacts(session, other.id, 5, start=100)
        claims = claim_due_contacts(session, "w", NOW, 10, trunk="big")
        by_campaign = [claim.campaign_id for claim in claims]
        assert by_campaign.count(small.id) == 2  # the campaign's own limit
        assert len(claims) == 5  # the trunk's: the other campaign filled the rest
        assert claim_due_contacts(session, "w", NOW, 10, trunk="big") == []
        # another trunk's lines are its own (a trunk without a row has no limits): the other campaign's
        # last 2 contacts; the small campaign is still at its concurrency
        assert len(claim_due_contacts(session, "w2", NOW, 3, trunk="unnamed-pbx")) == 2
        attempts = session.scalars(select(Attempt)).all()
        assert {a.trunk for a in attempts} == {"big", "unnamed-pbx"}
        assert all(a.trunk_claimed_at is not None for a in attempts)


def test_a_claim_without_a_trunk_ignores_trunk_limits(factory: Any) -> None:
    with factory() as session:
        upsert_trunk(session, "tiny", max_lines=1, max_cps=1)
        campaign = make_campaign(session, concurrency=10)
        add_contacts(session, campaign.id, 3)
        assert len(claim_due_contacts(session, "w", NOW, 3)) == 3
        assert {a.trunk for a in session.scalars(select(Attempt))} == {None}


def test_upsert_keeps_the_limit_it_was_not_given(factory: Any) -> None:
    with factory() as session:
        upsert_trunk(session, "t", max_lines=30, max_cps=5)
        upsert_trunk(session, "t", max_cps=8)  # a worker that states only the CPS
        trunk = session.get(Trunk, "t", populate_existing=True)
        assert trunk is not None and (trunk.max_lines, trunk.max_cps) == (30, 8)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"max_lines": 0}, "max_lines"),
        ({"max_lines": -3}, "max_lines"),
        ({"max_cps": 1001}, "max_cps"),
        ({"max_cps": 0}, "max_cps"),
        ({"max_cps": "fast"}, "max_cps"),
        ({"max_lines": "3"}, "max_lines"),
        ({"max_lines": 2.5}, "max_lines"),
        ({"max_cps": True}, "max_cps"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(values: dict[str, Any], field: str, tmp_path: Path) -> None:
    with pytest.raises(TrunkLimitError, match=f"^{field}: "):
        checked_limits(**values)
    with pytest.raises(TrunkError, match=f"^{field}: "):
        checked({"name": "carrier-a", **values}, "option")
    config = tmp_path / "trunk.yaml"
    config.write_text("name: carrier-a\n" + "".join(f"{key}: {value!r}\n" for key, value in values.items()))
    with pytest.raises(TrunkError, match=f"^{field}: "):
        load_trunk_file(config)


def test_trunk_file_limits_need_a_name_and_load_with_one(tmp_path: Path) -> None:
    config = tmp_path / "trunk.toml"
    config.write_text("max_cps = 5\n")
    with pytest.raises(TrunkError, match=r"^max_cps: .*set name"):
        load_trunk_file(config)
    config.write_text('name = "carrier-a"\nmax_lines = 30\nmax_cps = 5\n')
    settings = load_trunk_file(config)
    assert (settings.name, settings.max_lines, settings.max_cps) == ("carrier-a", 30, 5)
    assert settings.with_overrides(max_cps=2).max_cps == 2  # the command line wins
    with pytest.raises(TrunkError, match=r"^name: "):
        checked({"name": "bad name"}, "option")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--trunk-name", "a", "--trunk-max-cps", "1001"], "--trunk-max-cps"),
        (["--trunk-name", "a", "--trunk-max-lines", "0"], "--trunk-max-lines"),
        (["--trunk-name", "a", "--trunk-max-lines", "many"], "--trunk-max-lines"),
        (["--trunk-max-cps", "5"], "max_cps"),
    ],
)
def test_worker_refuses_bad_trunk_options_before_starting(
    options: list[str], named: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "waihu.cli", "worker", "--db", f"sqlite:///{tmp_path / 'w.db'}", *options],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},  # wide lines keep the message whole
    )
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert not (tmp_path / "w.db").exists()  # refused before it touched the database


def test_trunk_limits_over_the_api(server: Server) -> None:
    with server.client() as admin, server.client(server.platform_key) as platform:
        refused = admin.put("/v1/trunks/api-trunk", json={"max_lines": 2, "max_cps": 1})
        assert refused.status_code == 403 and refused.json()["detail"][0]["loc"] == ["path", "name"]
        assert admin.get("/v1/trunks/api-trunk").status_code == 404
        for body, field in [
            ({"max_lines": 0}, "max_lines"),
            ({"max_cps": 1001}, "max_cps"),
            ({"max_cps": "fast"}, "max_cps"),
            ({"max_lines": -1}, "max_lines"),
            ({"max_line": 3}, "max_line"),
        ]:
            bad = platform.put("/v1/trunks/api-trunk", json=body)
            assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", field], bad.text
        assert platform.put("/v1/trunks/not a name", json={}).status_code == 422
        put = platform.put("/v1/trunks/api-trunk", json={"max_lines": 2, "max_cps": 1})
        assert put.status_code == 200, put.text
        assert put.json() | {"updated_at": None} == {
            "name": "api-trunk",
            "max_lines": 2,
            "max_cps": 1,
            "lines_in_use": 0,
            "updated_at": None,
        }
        engine, factory = open_database(server.settings.database_url, migrate=False)
        try:
            with factory() as session:  # the next claim obeys what the admin set
                campaign = make_campaign(session, concurrency=10)
                add_contacts(session, campaign.id, 3, start=500)
                got = claim_due_contacts(session, "w", NOW, 3, campaign_ids=[campaign.id], trunk="api-trunk")
            assert len(got) == 1  # one start per second
        finally:
            engine.dispose()
        listed = admin.get("/v1/trunks").json()["items"]
        assert [(t["name"], t["lines_in_use"]) for t in listed] == [("api-trunk", 1)]
        cleared = platform.put("/v1/trunks/api-trunk", json={"max_lines": None})
        assert cleared.json()["max_lines"] is None and cleared.json()["max_cps"] is None


@pytest.mark.sip
def test_a_started_worker_writes_its_trunk_limits(tmp_path: Path) -> None:
    """``waihu worker --sip-config`` with name/max_lines/max_cps, the CPS overridden by the option."""
    from sip_peers.peers import free_udp_port

    db_url = f"sqlite:///{tmp_path / 'w.db'}"
    engine, factory = open_database(db_url)
    (tmp_path / "trunk.toml").write_text('name = "carrier-a"\nmax_lines = 30\nmax_cps = 5\n')
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "waihu.cli", "worker", "--db", db_url, "--classifier", "rules",
               "--sip-port", str(free_udp_port()), "--rtp-port", str(free_udp_port(40)),
               "--sip-config", str(tmp_path / "trunk.toml"), "--trunk-max-cps", "2"]  # fmt: skip
    env = {**os.environ, "WAIHU_TTS": "espeak"}
    worker = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a measurement
        trunk = None
        while trunk is None and worker.poll() is None and time.monotonic() < deadline:
            with factory() as session:
                trunk = session.get(Trunk, "carrier-a")
            time.sleep(0.2)
        assert trunk is not None, log.read_text(errors="replace")[-3000:]
        assert (trunk.max_lines, trunk.max_cps) == (30, 2)  # the option won over the file
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        engine.dispose()
