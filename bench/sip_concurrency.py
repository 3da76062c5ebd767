"""SIP concurrency benchmark: N worker processes x 4 calls each against one sipp UAS on loopback.

Each worker runs its own :class:`telephony.SipEngine` (own SIP port and RTP range), dials 4 calls
to a sipp UAS that answers and streams audio, and holds them for ``--hold`` seconds while playing
robot audio continuously and consuming every callee frame (the work a real call does in
telephony). Prints calls held, setup time to CONFIRMED, CPU per call and RSS per worker as JSON.

Usage: python bench/sip_concurrency.py [--workers N] [--hold S] [--record]
Needs sipp (apt package ``sip-tester``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCENARIO = ROOT / "tests" / "telephony" / "scenarios" / "uas_answer_stream.xml"
CALLS_PER_WORKER = 4


def _free_port(span: int = 1) -> int:
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + span < 65000:
            return base
    raise RuntimeError("no free port")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tone(freq: float, seconds: float) -> bytes:
    import numpy as np

    t = np.arange(int(8000 * seconds)) / 8000
    return (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


async def _worker(idx: int, target: str, hold_s: float, record_dir: str | None) -> dict[str, float]:
    from telephony import CallOutcome, SipConfig, SipEngine

    rss_before = _rss_mib()
    cfg = SipConfig(
        sip_port=_free_port(),
        rtp_port=20000 + idx * 100,
        rtp_port_range=100,
        recordings_dir=Path(record_dir) if record_dir else None,
    )
    eng = SipEngine(cfg)
    await eng.start()
    rss_started = _rss_mib()
    results = await asyncio.gather(
        *(
            eng.dial(f"{target.replace('USER', f'1380000{idx:02d}{i:02d}')}", ring_timeout_s=10)
            for i in range(4)
        )
    )
    calls = [r.call for r in results if r.outcome is CallOutcome.ANSWERED and r.call is not None]
    setups = [r.setup_s for r in results if r.setup_s is not None]
    prompt = _tone(440, 2.0)
    frames = 0

    async def drive(call) -> None:  # type: ignore[no-untyped-def]
        nonlocal frames
        while call.is_up:
            if call.queued_ms < 500:
                call.play(prompt)
            try:
                await asyncio.wait_for(call.frames.get(), 1)
                frames += 1
            except TimeoutError:
                pass

    tasks = [asyncio.create_task(drive(c)) for c in calls]
    await asyncio.sleep(1.0)  # warm-up
    frames = 0
    ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    await asyncio.sleep(hold_s)
    ru1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    held = sum(1 for c in calls if c.is_up)
    rss_held = _rss_mib()
    await asyncio.gather(*(c.hangup() for c in calls))
    for t in tasks:
        t.cancel()
    await eng.stop()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    wall = t1 - t0
    return {
        "worker": idx,
        "answered": len(calls),
        "held": held,
        "setup_s_mean": statistics.mean(setups) if setups else float("nan"),
        "setup_s_max": max(setups) if setups else float("nan"),
        "cpu_pct_worker": 100 * cpu / wall,
        "cpu_pct_per_call": 100 * cpu / wall / max(held, 1),
        "frames_per_s_per_call": frames / wall / max(held, 1),
        "rss_mib_before_engine": rss_before,
        "rss_mib_engine_idle": rss_started,
        "rss_mib_4_calls": rss_held,
    }


def _run_worker(args: tuple[int, str, float, str | None], out: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        out.put(asyncio.run(_worker(*args)))
    except Exception as e:  # report, do not hang the parent
        out.put({"worker": args[0], "error": repr(e)})


def main() -> None:
    """Run the benchmark and print JSON results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hold", type=float, default=10.0, help="seconds to hold the calls")
    parser.add_argument("--record", action="store_true", help="record every call (stereo WAV)")
    args = parser.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        sys.exit("sipp not found: apt-get install -y sip-tester")
    from sip_peers.peers import tone, write_ulaw_for_sipp

    with tempfile.TemporaryDirectory(prefix="sipbench-") as tmp:
        work = Path(tmp)
        write_ulaw_for_sipp(work / "callee.wav", tone(1000, 2.0))
        port, media = _free_port(), _free_port(4)
        cmd = [sipp, "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1"]
        cmd += ["-mp", str(media), "-nostdin", "-timeout", f"{args.hold + 60}s"]
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            ctx = mp.get_context("spawn")
            out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
            rec = str(work / "rec") if args.record else None
            target = f"sip:USER@127.0.0.1:{port}"
            procs = [
                ctx.Process(target=_run_worker, args=((i, target, args.hold, rec), out))
                for i in range(args.workers)
            ]
            for p in procs:
                p.start()
            rows = [out.get(timeout=args.hold + 90) for _ in procs]
            for p in procs:
                p.join(10)
        finally:
            proc.terminate()
            proc.wait(5)
    ok = [r for r in rows if "error" not in r]
    summary = {
        "workers": args.workers,
        "calls_held": sum(r["held"] for r in ok),
        "calls_wanted": args.workers * CALLS_PER_WORKER,
        "hold_s": args.hold,
        "record": args.record,
        "setup_s_mean": statistics.mean(r["setup_s_mean"] for r in ok) if ok else None,
        "cpu_pct_per_call_mean": statistics.mean(r["cpu_pct_per_call"] for r in ok) if ok else None,
        "rss_mib_per_worker_mean": statistics.mean(r["rss_mib_4_calls"] for r in ok) if ok else None,
        "cpu_count": mp.cpu_count(),
        "per_worker": sorted(rows, key=lambda r: r["worker"]),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
