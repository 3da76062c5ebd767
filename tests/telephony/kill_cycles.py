"""A kill -9 storm: several `waihu worker` processes call sipp customers; one is killed at a time.

Used by ``test_worker_kill_cycles.py`` (20 cycles) and ``bench/kill_cycles.py`` (as many as asked).
Real pieces only: worker processes, SQLite through SQLAlchemy, sipp customers on loopback. Three kinds
of customer, by phone number:

* ``talker``: answers at once and stays 4 s on the line, silent (then hangs up);
* ``ringer``: rings (180) until the robot's ring timeout CANCELs;
* ``silent``: never rings (only 100 Trying) until the CANCEL.

The driver plays the service's part: it recovers expired leases (``recover_stale``), brings retries
due at once (the retry interval is not what is tested) and tops the campaign up with contacts so that
every cycle finds calls to kill. A kill is made only when no answer is in flight at the victim:
it is frozen (SIGSTOP) and killed only if each of its calls to a talker is already recorded as
answered; otherwise it resumes and the kill is tried again a moment later. (A call answered by the
customer but killed before the worker could record it is a window no database write can close; the
worker writes ``in_call`` the moment pjsua2 reports the answer, see ``Worker._call``.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sip_peers.peers import Sipp, free_udp_port, write_ulaw_for_sipp
from tests.conftest import ROOT
from tests.service.helpers import make_campaign
from waihu.service.db import begin_write, open_database
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Attempt, Contact, utcnow
from waihu.service.outcomes import IN_PROGRESS
from waihu.service.scheduler import recover_stale

SCENARIOS = Path(__file__).resolve().parent / "kill"
KINDS = ("talker", "ringer", "silent")
#: Longer than the worst stall of a worker's event loop on a busy 2-core host (a worker loads Whisper
#: on its loop at its first answered call, and three start at once): with 5 s, live workers lost
#: answered calls to recovery and their customers were dialled again. Production's default is 60 s.
LEASE_S = 15
RING_TIMEOUT_S = 6
LINES_PER_WORKER = 4
#: More contacts are imported when fewer than this many per worker are pending.
PENDING_PER_WORKER = 3
BATCH = 12
MAX_PHONES = 3000


def phone(index: int) -> str:
    """The index-th customer's mobile number; its kind is ``KINDS[index % 3]``."""
    return f"139{index:08d}"


def kind_of(number: str) -> str:
    """The kind of customer behind a phone number (E.164 or national)."""
    return KINDS[int(number[-8:]) % len(KINDS)]


@dataclass
class KillTotals:
    """What a storm did and what it proves; the last five must be 0 (``ok``)."""

    kills: int = 0
    postponed_kills: int = 0
    workers: int = 0
    contacts: int = 0
    calls: int = 0
    answered_calls: int = 0
    lost_attempts: int = 0
    lost_after_answer: int = 0
    lost_never_rang: int = 0
    never_rang_retried: int = 0
    seconds: float = 0.0
    #: Contacts not finished, or finished as lost without ever being answered.
    contacts_lost: int = 0
    #: Talkers (who answer every call) called more than once, by their own logs.
    double_calls: int = 0
    #: Contacts with more than one answered attempt, by the database.
    double_answers: int = 0
    #: Lost attempts that never rang and got no later attempt.
    never_rang_not_retried: int = 0
    stuck_attempts: int = 0
    #: Attempts with another outcome than answered, no_answer or lost (e.g. a worker error).
    unexpected_outcomes: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing lost, nobody who answered called twice, every never-rung loss retried."""
        return not (
            self.contacts_lost
            or self.double_calls
            or self.double_answers
            or self.never_rang_not_retried
            or self.stuck_attempts
            or self.unexpected_outcomes
        )

    def summary(self) -> str:
        """One line of totals."""
        return (
            f"{self.kills} kills ({self.postponed_kills} postponed: answer in flight), {self.workers} workers, "
            f"{self.contacts} contacts, {self.calls} calls ({self.answered_calls} answered), "
            f"{self.lost_attempts} attempts lost ({self.lost_after_answer} after an answer, "
            f"{self.lost_never_rang} before, {self.never_rang_retried} of those retried); "
            f"contacts lost {self.contacts_lost}, double calls {self.double_calls}, "
            f"double answers {self.double_answers}, never-rung losses not retried "
            f"{self.never_rang_not_retried}, stuck attempts {self.stuck_attempts}, unexpected outcomes "
            f"{self.unexpected_outcomes}; {self.seconds:.0f} s"
        )


class Storm:
    """The campaign, the customers and the workers of one kill storm (a context manager)."""

    def __init__(self, workdir: Path, workers: int = 3) -> None:
        self.dir = workdir
        self.slots = workers
        self.db_url = f"sqlite:///{workdir / 'storm.db'}"
        self.engine, self.factory = open_database(self.db_url)
        self.customers: dict[str, Sipp] = {}
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.ids: list[str] = [""] * workers
        self.started = 0
        self.imported = 0
        self.campaign_id = 0

    # ------------------------------------------------------------------ set-up
    def __enter__(self) -> Storm:
        # Silence: a tone would be a voicemail beep to the answering-machine detector.
        wav = write_ulaw_for_sipp(self.dir / "callee.ulaw", bytes(8000 * 2 * 6))
        for kind in KINDS:
            workdir = self.dir / kind
            workdir.mkdir(exist_ok=True)
            sipp = Sipp(str(SCENARIOS / f"{kind}.xml"), workdir, wav=wav, calls=None, timeout_s=1800)
            self.customers[kind] = sipp.__enter__()
        routes = "".join(
            f'"+86{phone(i)}": "sip:86{phone(i)}@127.0.0.1:{self.customers[KINDS[i % 3]].port}"\n'
            for i in range(MAX_PHONES)
        )
        (self.dir / "routes.yaml").write_text(routes)
        with self.factory() as session:
            campaign = make_campaign(
                session,
                retry_policy={"lost": {"interval_s": 60, "max": 20}},
                max_attempts=25,
                max_attempts_per_day=25,
                concurrency=100,
            )
            self.campaign_id = campaign.id
        self.top_up(force=True)
        for slot in range(self.slots):
            self.start(slot)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for sipp in self.customers.values():
            sipp.__exit__()
        self.engine.dispose()

    def start(self, slot: int) -> None:
        """Start a worker process in ``slot`` (a fresh worker id, ports and log)."""
        self.started += 1
        worker_id = f"storm-{self.started}"
        log = (self.dir / f"{worker_id}.log").open("ab")
        env = {**os.environ, "WAIHU_TTS": "espeak"}
        command = [sys.executable, "-m", "waihu.cli", "worker", "--db", self.db_url, "--worker-id", worker_id,
                   "--routes", str(self.dir / "routes.yaml"), "--lease-s", str(LEASE_S),
                   "--ring-timeout", str(RING_TIMEOUT_S), "--max-calls", str(LINES_PER_WORKER),
                   "--transfer-mode", "blind", "--classifier", "rules",
                   "--sip-port", str(free_udp_port()), "--rtp-port", str(free_udp_port(40))]  # fmt: skip
        self.procs[slot] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.ids[slot] = worker_id

    # ------------------------------------------------------------------ the service's part
    def top_up(self, *, force: bool = False) -> None:
        """Import a batch of contacts when few are pending (so every cycle has calls to kill)."""
        with self.factory() as session:
            pending = session.scalar(
                select(func.count()).select_from(Contact).where(Contact.state == "pending")
            )
        if not force and (pending or 0) >= PENDING_PER_WORKER * self.slots:
            return
        with self.factory() as session:
            begin_write(session)  # SQLite: the write lock up front (a read turned write can fail at once)
            rows = [
                RawRow(n + 1, {"reference_id": f"k{i}", "phone": phone(i), "name": "张先生"})
                for n, i in enumerate(range(self.imported, min(self.imported + BATCH, MAX_PHONES)))
            ]
            import_contacts(session, self.campaign_id, rows)
            session.commit()
            self.imported += len(rows)

    def housekeeping(self, session: Session) -> None:
        """Recover expired leases and bring retries due now."""
        recover_stale(session)
        now = utcnow()
        begin_write(session)
        session.execute(
            update(Contact)
            .where(Contact.state == "pending", Contact.next_attempt_at > now)
            .values(next_attempt_at=now)
        )
        session.commit()

    def in_progress(self, session: Session, worker_id: str) -> list[Attempt]:
        """The victim's attempts still in progress."""
        return list(
            session.scalars(
                select(Attempt).where(Attempt.claimed_by == worker_id, Attempt.status.in_(IN_PROGRESS))
            )
        )

    # ------------------------------------------------------------------ the storm
    def kill_one(self, slot: int, totals: KillTotals, timeout_s: float = 90) -> None:
        """Kill the worker in ``slot`` once it has calls up and no answer in flight; restart the slot."""
        proc, worker_id = self.procs[slot], self.ids[slot]
        assert proc is not None
        deadline = time.monotonic() + timeout_s
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"{worker_id} never had calls to kill: {self.log_tail(worker_id)}")
            if proc.poll() is not None:
                raise AssertionError(f"{worker_id} exited by itself: {self.log_tail(worker_id)}")
            self.top_up()
            with self.factory() as session:
                self.housekeeping(session)
                busy = self.in_progress(session, worker_id)
            if not busy:
                time.sleep(0.3)
                continue
            os.kill(proc.pid, signal.SIGSTOP)
            time.sleep(0.2)  # what it sent before the stop reaches the customers
            with self.factory() as session:
                talking = [a for a in self.in_progress(session, worker_id) if kind_of(a.phone) == "talker"]
            if all(a.status == "in_call" for a in talking):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                totals.kills += 1
                self.start(slot)
                return
            os.kill(proc.pid, signal.SIGCONT)
            totals.postponed_kills += 1
            time.sleep(0.4)

    def drain(self, timeout_s: float = 120) -> None:
        """Let the live workers finish every contact, then stop them (SIGTERM)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.factory() as session:
                self.housekeeping(session)
                open_contacts = session.scalar(
                    select(func.count()).select_from(Contact).where(Contact.state != "done")
                )
            if not open_contacts:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{open_contacts} contacts still open after the storm")
            time.sleep(0.5)
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is not None:
                proc.wait(30)

    def log_tail(self, worker_id: str) -> str:
        """The end of a worker's log."""
        path = self.dir / f"{worker_id}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # ------------------------------------------------------------------ the verdict
    def calls_received(self) -> dict[str, Counter[str]]:
        """Per kind of customer, how many INVITEs each number received (their own logs)."""
        return {
            kind: Counter(re.findall(r"CALLED=86(\d+)", sipp.logged()))
            for kind, sipp in self.customers.items()
        }

    def totals(self, totals: KillTotals) -> KillTotals:
        """Count calls and losses and check the promises."""
        received = self.calls_received()
        with self.factory() as session:
            attempts = list(session.scalars(select(Attempt).order_by(Attempt.contact_id, Attempt.number)))
            contacts = list(session.scalars(select(Contact)))
        by_contact: dict[int, list[Attempt]] = {}
        for attempt in attempts:
            by_contact.setdefault(attempt.contact_id, []).append(attempt)
        totals.workers = self.started
        totals.contacts = len(contacts)
        totals.calls = len(attempts)
        totals.answered_calls = sum(received["talker"].values())
        totals.stuck_attempts = sum(a.status != "finished" for a in attempts)
        unexpected = [a for a in attempts if a.outcome not in ("answered", "no_answer", "lost")]
        totals.unexpected_outcomes = len(unexpected)
        totals.details += [f"attempt {a.id}: {a.outcome} {a.sip_reason}" for a in unexpected[:5]]
        for contact in contacts:
            history = by_contact.get(contact.id, [])
            answered = [a for a in history if a.answer_at is not None]
            if len(answered) > 1:
                totals.double_answers += 1
                totals.details.append(f"{contact.reference_id}: answered {len(answered)} times")
            lost_unanswered = contact.final_outcome == "lost" and not answered
            if contact.state != "done" or lost_unanswered:
                totals.contacts_lost += 1
                totals.details.append(f"{contact.reference_id}: {contact.state} {contact.final_outcome}")
            for attempt in history:
                if attempt.outcome != "lost":
                    continue
                totals.lost_attempts += 1
                if attempt.answer_at is not None:
                    totals.lost_after_answer += 1
                elif attempt.ring_at is None:
                    totals.lost_never_rang += 1
                    if any(later.number > attempt.number for later in history):
                        totals.never_rang_retried += 1
                    else:
                        totals.never_rang_not_retried += 1
                        totals.details.append(f"{contact.reference_id}: lost #{attempt.number} not retried")
        doubles = [number for number, count in received["talker"].items() if count > 1]
        totals.double_calls = len(doubles)
        totals.details += [f"talker {number} called {received['talker'][number]} times" for number in doubles]
        return totals


def run_storm(workdir: Path, *, cycles: int = 20, workers: int = 3) -> KillTotals:
    """Run ``cycles`` kills over ``workers`` worker slots, drain, and return the totals."""
    totals = KillTotals()
    started = time.monotonic()
    with Storm(workdir, workers) as storm:
        for cycle in range(cycles):
            storm.kill_one(cycle % workers, totals)
        storm.drain()
        storm.totals(totals)
    totals.seconds = time.monotonic() - started
    return totals
