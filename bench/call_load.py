"""Honest load: N reacting customers talk to the real service, workers and speech service at once.

    .venv/bin/python bench/call_load.py --calls 12 --seconds 120

Starts, as separate processes: the speech service (``waihu speech serve``), the API (``waihu serve``,
SQLite), ``ceil(N/4)`` telephony workers (``waihu worker --speech-url``) and ``ceil(N/4)`` customer
agents (``sip_peers.customers``: real SIP user agents on loopback that answer, wait for the
robot's prompt to end, pause 300–800 ms and answer, sometimes talk over a prompt, stay silent, and
finally say no). A strategy system's steps go over the API. Prints per run: reply latency on the
wire (end of the customer's speech → first robot audio the customer receives) p50/p95, barge-in stop
p95, spoken-intent accuracy (the intent each customer meant vs the one in the call's trace), CPU and
total RSS of every process, and as its last line::

    calls N reply_p50_ms X reply_p95_ms Y intent_acc Z
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from sip_peers.peers import free_udp_port  # noqa: E402

FLOW = ROOT / "flows" / "credit_card_installment.yaml"
WAIHU = [sys.executable, "-m", "waihu.cli"]
CALLS_PER_PROCESS = 4
console = Console(stderr=True)


def library(directory: Path) -> dict[str, list[tuple[Path, str]]]:
    """intent → [(clip, text)] from a clip library's manifest.tsv."""
    by_intent: dict[str, list[tuple[Path, str]]] = {}
    with (directory / "manifest.tsv").open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) >= 3 and not row[0].startswith("#"):
                by_intent.setdefault(row[1], []).append((directory / row[0], row[2]))
    return by_intent


def default_clips() -> Path:
    """The project's own customer voices (made by ``waihu models prepare``)."""
    from waihu.voice.customer_audio import default_library_dir

    return default_library_dir()


def customer_script(rng: random.Random, clips: dict[str, list[tuple[Path, str]]]) -> dict[str, Any]:
    """A customer who confirms, asks side questions (one over the prompt), asks to repeat, says no."""

    def say(intent: str, **extra: Any) -> dict[str, Any]:
        path, text = rng.choice(clips[intent])
        return {"wav": str(path), "intent": intent, "text": text, **extra}

    faqs = [name for name in ("faq:fee", "faq:periods", "faq:credit_report", "faq:amount") if name in clips]
    first, second = rng.sample(faqs, 2)
    turns = [say("affirm"), say(first), say(second, interrupt_s=round(rng.uniform(0.8, 2.0), 1))]
    if rng.random() < 0.5:
        turns.append(say("repeat"))
    if rng.random() < 0.3:
        turns.append({"silence": True})
    turns += [say("deny"), say("deny")]
    return {"turns": turns}


class Processes:
    """Child processes with their CPU time and memory sampled from /proc."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.peak_rss = 0

    def start(self, name: str, cmd: list[str], ready_line: str | None = None) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE if ready_line else log, stderr=log, env=os.environ.copy()
        )
        self.procs.append((name, proc))
        if ready_line:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode().strip()
            if line != ready_line:
                raise RuntimeError(f"{name} did not start: {line!r}; see {self.workdir / name}.log")
        return proc

    def cpu_s(self) -> float:
        """User + system CPU seconds of every child so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for _name, proc in self.procs:
            with contextlib.suppress(OSError, IndexError):
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def sample_rss(self) -> int:
        """Total resident memory now (bytes); keeps the peak."""
        total = 0
        for _name, proc in self.procs:
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        self.peak_rss = max(self.peak_rss, total)
        return total

    def stop(self) -> None:
        """SIGTERM everyone (customers first, so their reports are written), then wait."""
        for _name, proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_http(url: str, limit_s: float = 120.0) -> None:
    """Until ``url`` answers 200."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Processes]:
    """Processes stopped on exit, whatever happens."""
    procs = Processes(workdir)
    try:
        yield procs
    finally:
        procs.stop()


def run(
    calls: int, seconds: float, clips_dir: Path, workdir: Path, seed: int, rounds: int = 1
) -> dict[str, Any]:
    """One load run of ``rounds`` campaigns of ``calls`` simultaneous calls; returns the measurements.

    Each round is its own campaign with new numbers, started when the previous one has finished, so
    that exactly ``calls`` calls are up at once and each customer process holds at most 4.
    """
    from waihu.service.apikeys import create_api_key
    from waihu.service.db import open_database

    rng = random.Random(seed)
    clips = library(clips_dir)
    database_url = f"sqlite:///{workdir / 'waihu.db'}"
    _engine, factory = open_database(database_url)
    with factory() as session:
        _row, admin_key = create_api_key(session, "bench admin", "admin")
        session.commit()
    by_round = [[f"13800{r:02d}{2000 + i:04d}" for i in range(calls)] for r in range(rounds)]
    groups = math.ceil(calls / CALLS_PER_PROCESS)
    routes: dict[str, str] = {}
    with running(workdir) as procs:
        speech_port, api_port = free_udp_port(), free_udp_port()
        procs.start("speech", [*WAIHU, "speech", "serve", "--port", str(speech_port)])
        procs.start("api", [*WAIHU, "serve", "--db", database_url, "--port", str(api_port)])
        for g in range(groups):
            mine = [
                p for phones in by_round for p in phones[g * CALLS_PER_PROCESS : (g + 1) * CALLS_PER_PROCESS]
            ]
            script = {
                "customers": {phone: customer_script(rng, clips) for phone in mine},
                "gap_ms": [300, 800],
                "seed": seed + g,
            }
            script_path = workdir / f"customers-{g}.json"
            script_path.write_text(json.dumps(script, ensure_ascii=False), encoding="utf-8")
            port = free_udp_port()
            procs.start(
                f"customers-{g}",
                [sys.executable, "-m", "sip_peers.customers", "--port", str(port),
                 "--rtp-port", str(free_udp_port(40)), "--script", str(script_path),
                 "--out", str(workdir / f"customers-{g}.jsonl")],
                ready_line="READY",
            )  # fmt: skip
            routes.update({f"+86{phone}": f"sip:{phone}@127.0.0.1:{port}" for phone in mine})
        (workdir / "routes.yaml").write_text(
            "".join(f'"{k}": "{v}"\n' for k, v in routes.items()), encoding="utf-8"
        )
        wait_http(f"http://127.0.0.1:{speech_port}/healthz", 300)
        wait_http(f"http://127.0.0.1:{api_port}/healthz")
        # The fixed prompts are synthesised ahead, as at a flow's upload: calls pay only for variables.
        with console.status("warming the flow's prompts (waihu tts warm)"):
            subprocess.run([*WAIHU, "tts", "warm", str(FLOW)], check=True, capture_output=True)
        for w in range(groups):
            procs.start(
                f"worker-{w}",
                [*WAIHU, "worker", "--db", database_url, "--worker-id", f"bench-{w}",
                 "--routes", str(workdir / "routes.yaml"), "--sip-port", str(free_udp_port()),
                 "--rtp-port", str(free_udp_port(40)), "--max-calls", str(CALLS_PER_PROCESS),
                 "--transfer-mode", "blind", "--ring-timeout", "10",
                 "--speech-url", f"http://127.0.0.1:{speech_port}"],
            )  # fmt: skip
        base = f"http://127.0.0.1:{api_port}"
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30)
        keys = {
            role: admin.post("/v1/keys", json={"name": role, "role": role}).json()["key"]
            for role in ("strategy", "operator")
        }
        operator = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['operator']}"})
        strategy = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['strategy']}"})
        uploaded = operator.post(
            "/v1/flows", content=FLOW.read_bytes(), headers={"content-type": "application/yaml"}
        )
        uploaded.raise_for_status()
        cpu_before, started = procs.cpu_s(), time.monotonic()
        results: list[dict[str, Any]] = []
        with console.status("calls in progress") as status:
            for r, phones in enumerate(by_round):
                results += campaign_round(
                    strategy, calls, r, phones, started + seconds * (r + 1), status, procs
                )
        wall = time.monotonic() - started
        cpu = procs.cpu_s() - cpu_before
    reports = []
    for g in range(groups):
        path = workdir / f"customers-{g}.jsonl"
        if path.exists():
            reports += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return measure(calls, results, reports, cpu / wall if wall else 0.0, procs.peak_rss, wall)


def campaign_round(
    strategy: httpx.Client,
    calls: int,
    index: int,
    phones: list[str],
    deadline: float,
    status: Any,
    procs: Any,
) -> list[dict[str, Any]]:
    """One campaign calling ``phones`` all at once; its results when finished (or at ``deadline``)."""
    campaign = strategy.post(
        "/v1/campaigns",
        json={
            "name": f"load {calls} round {index + 1}",
            "flow_id": "credit_card_installment",
            "windows": [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "23:59"}],
            "concurrency": calls,
        },
    )
    campaign.raise_for_status()
    campaign_id = campaign.json()["id"]
    contacts = [
        {"reference_id": f"load-{p}", "phone": p, "name": "张先生", "variables": {"amount": "12000"}}
        for p in phones
    ]
    strategy.post(f"/v1/campaigns/{campaign_id}/contacts", json={"contacts": contacts}).raise_for_status()
    query = {"campaign_id": campaign_id, "limit": 500, "transcript": "true"}
    while time.monotonic() < deadline:
        procs.sample_rss()
        done = len(strategy.get("/v1/results", params=query).json()["items"])
        status.update(f"round {index + 1}: {done}/{calls} calls finished")
        if done >= calls:
            break
        time.sleep(1.0)
    items: list[dict[str, Any]] = strategy.get("/v1/results", params=query).json()["items"]
    return items


def measure(
    calls: int,
    results: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    cpu: float,
    rss: int,
    wall: float,
) -> dict[str, Any]:
    """Latencies and accuracy from the customers' reports and the calls' traces."""
    replies = [t["reply_ms"] for r in reports for t in r["turns"] if t.get("reply_ms") is not None]
    barge = [
        t["barge_in_stop_ms"] for r in reports for t in r["turns"] if t.get("barge_in_stop_ms") is not None
    ]
    by_phone = {r["phone"].lstrip("+").removeprefix("86"): r for r in results}
    right = total = 0
    for report in reports:
        meant = [t["intent"] for t in report["turns"] if t["kind"] != "silence"]
        trace = by_phone.get(report["number"], {}).get("transcript", [])
        heard = [turn.get("intent") for turn in trace if turn.get("kind") == "utterance"]
        for i, intent in enumerate(meant):
            total += 1
            right += int(i < len(heard) and heard[i] == intent)
    answered = sum(1 for r in results if r.get("outcome") == "answered")
    return {
        "calls": calls,
        "answered": answered,
        "dropped": calls - answered,
        "reply_p50_ms": percentile(replies, 50),
        "reply_p95_ms": percentile(replies, 95),
        "barge_in_p95_ms": percentile(barge, 95),
        "intent_acc": right / total if total else 0.0,
        "turns": len(replies),
        "cpu_cores": cpu,
        "rss_mib": rss / 2**20,
        "wall_s": wall,
    }


def main() -> None:
    """Parse arguments, run, print the table and the contract line."""
    parser = argparse.ArgumentParser(description="Reacting customers against the whole service.")
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=180.0, help="Give up a round after this long.")
    parser.add_argument("--clips", type=Path, default=None, help="Clip library (manifest.tsv).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--rounds", type=int, default=1, help="Campaigns of --calls calls run one after another (more turns)."
    )
    parser.add_argument("--keep", type=Path, default=None, help="Keep logs and results here.")
    args = parser.parse_args()
    clips = args.clips or default_clips()
    if not (clips / "manifest.tsv").is_file():
        raise SystemExit(f"no clip library at {clips}: run `waihu models prepare` (or pass --clips)")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="waihu-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    m = run(args.calls, args.seconds, clips, workdir, args.seed, args.rounds)
    table = Table(title=f"{args.calls} reacting customers ({os.cpu_count()} cores, logs in {workdir})")
    for column in ("calls", "answered", "turns", "reply p50 ms", "reply p95 ms", "barge-in p95 ms",
                   "intent acc", "CPU (cores)", "RSS MiB", "wall s"):  # fmt: skip
        table.add_column(column, justify="right")
    table.add_row(
        str(m["calls"]), str(m["answered"]), str(m["turns"]), f"{m['reply_p50_ms']:.0f}",
        f"{m['reply_p95_ms']:.0f}", f"{m['barge_in_p95_ms']:.0f}", f"{m['intent_acc']:.3f}",
        f"{m['cpu_cores']:.2f}", f"{m['rss_mib']:.0f}", f"{m['wall_s']:.0f}",
    )  # fmt: skip
    Console().print(table)
    print(
        f"calls {m['calls']} reply_p50_ms {m['reply_p50_ms']:.0f} reply_p95_ms {m['reply_p95_ms']:.0f} "
        f"intent_acc {m['intent_acc']:.3f}"
    )


if __name__ == "__main__":
    main()
