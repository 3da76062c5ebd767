"""Customers that react like people: a real SIP user agent answering calls and talking back on cue.

Run as a process (pjsua2 allows one user agent per process, 4 calls each)::

    python -m sip_peers.customers --port 5090 --rtp-port 42000 --script customers.json --out out.jsonl

The script maps the number dialled (user part of the request URI) to a customer::

    {"customers": {"13800001001": {"turns": [{"wav": "a.wav", "intent": "affirm"},
                                              {"wav": "b.wav", "interrupt_s": 1.0},
                                              {"silence": true}, {"hangup": true}]}},
     "gap_ms": [300, 800], "seed": 1}

A customer waits for the robot's prompt to end, then after a pause of ``gap_ms`` (random in range)
plays its answer; an ``interrupt_s`` turn speaks that long into the robot's prompt instead (barge-in);
a ``silence`` turn says nothing until the robot speaks again. It measures what a caller experiences:
**reply latency** (end of its own words → first robot audio received) and **barge-in stop** (start
of its words over a prompt → the robot's audio stops), both timed from the words, not from the
silence around them in the clip (:func:`speech_bounds`). One JSON line per call goes to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from telephony import SipConfig, SipEngine
from telephony.call import Call
from tts.recorded import load_recorded

log = logging.getLogger(__name__)

FRAME_S = 0.02
LOUD_RMS = 300.0  # robot speech vs line silence (int16 RMS)
QUIET_STOP_S = 0.1  # the robot counts as stopped after this much quiet
MAX_WAIT_S = 20.0


@dataclass
class TurnReport:
    """What one turn measured."""

    intent: str | None
    text: str | None
    kind: str
    reply_ms: float | None = None
    barge_in_stop_ms: float | None = None
    #: The robot was still speaking when we finished (a non-interruptible prompt): no reply to time.
    overlapped: bool = False


@dataclass
class CallReport:
    """One customer's call."""

    number: str
    answer_at: float
    turns: list[TurnReport] = field(default_factory=list)
    ended_by: str = "robot"


class Ears:
    """Follows the robot's audio frame by frame: speaking or quiet, and since when (monotonic s)."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.speaking = False
        self.changed_at = time.monotonic()
        self.last_loud = 0.0
        #: Set when the robot starts speaking; the caller clears it to wait for the next start.
        self.spoke_since_mark = False
        self.ended = False

    async def frame(self, timeout_s: float = 1.0) -> None:
        """Consume one frame (or note silence on a timeout) and update the state."""
        try:
            pcm = await asyncio.wait_for(self.call.frames.get(), timeout_s)
        except TimeoutError:
            pcm = b""
        now = time.monotonic()
        if pcm and _rms(pcm) > LOUD_RMS:
            if not self.speaking:
                self.speaking, self.changed_at, self.spoke_since_mark = True, now, True
            self.last_loud = now
        elif self.speaking and now - self.last_loud >= QUIET_STOP_S:
            self.speaking, self.changed_at = False, self.last_loud + FRAME_S
        self.ended = not self.call.is_up

    def drain(self) -> None:
        """Forget frames queued while we were busy (they are in the past)."""
        while not self.call.frames.empty():
            self.call.frames.get_nowait()


def _rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def speech_bounds(pcm: bytes, sample_rate: int = 8000) -> tuple[float, float]:
    """(leading, trailing) seconds of silence around the speech in a clip (20 ms frames).

    Synthesised clips carry ~0.4 s of silence before the words and ~0.5 s after them: latencies are
    timed from the words, as a caller perceives them, not from the ends of the file.
    """
    step = int(FRAME_S * sample_rate) * 2
    frames = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    loud = [i for i, frame in enumerate(frames) if _rms(frame) > LOUD_RMS]
    if not loud:
        return 0.0, 0.0
    return loud[0] * FRAME_S, (len(frames) - 1 - loud[-1]) * FRAME_S


async def _until(ears: Ears, predicate: Any, limit_s: float = MAX_WAIT_S) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and not ears.ended:
        await ears.frame()
        if predicate():
            return True
    return False


async def converse(call: Call, customer: dict[str, Any], rng: random.Random, gap_ms: list[int]) -> CallReport:
    """Play one customer's turns against the robot on ``call``."""
    number = "".join(ch for ch in call.target.split("@")[0] if ch.isdigit())
    report = CallReport(number, time.time())
    ears = Ears(call)
    await _until(ears, lambda: ears.speaking)  # the greeting starts
    for turn in customer.get("turns", []):
        if ears.ended:
            report.ended_by = "robot"
            break
        if turn.get("hangup"):
            await _until(ears, lambda: not ears.speaking)
            await call.hangup()
            report.ended_by = "customer"
            break
        kind = "silence" if turn.get("silence") else ("interrupt" if turn.get("interrupt_s") else "answer")
        tr = TurnReport(turn.get("intent"), turn.get("text"), kind)
        report.turns.append(tr)
        if kind == "silence":  # say nothing: wait for the robot's prompt to end, then for it to speak again
            await _until(ears, lambda: not ears.speaking)
            ears.spoke_since_mark = False
            await _until(ears, lambda: ears.spoke_since_mark)
            continue
        pcm = load_recorded(Path(turn["wav"]), 8000).pcm
        lead_s, trail_s = speech_bounds(pcm)
        if kind == "interrupt":
            await _until(ears, lambda: ears.speaking)
            into_s = float(turn["interrupt_s"])
            await _until(ears, lambda s=into_s: ears.speaking and time.monotonic() - ears.changed_at >= s)
            started = time.monotonic()
            call.play(pcm, 8000)
            if await _until(ears, lambda: not ears.speaking, 5.0):
                tr.barge_in_stop_ms = round((ears.changed_at - started - lead_s) * 1000, 1)
        else:
            await _until(ears, lambda: not ears.speaking)
            gap = rng.uniform(gap_ms[0], gap_ms[1]) / 1000
            waited = time.monotonic()
            await _until(ears, lambda w=waited, g=gap: time.monotonic() - w >= g or ears.speaking, gap + 1)
            call.play(pcm, 8000)
        await call.wait_played()
        spoke_until = time.monotonic() - trail_s  # the end of the words, not of the file
        ears.drain()
        ears.speaking = ears.spoke_since_mark = False
        await ears.frame()
        if ears.speaking:  # loud at once: the robot talked on over our words (no reply to time)
            tr.overlapped = True
            await _until(ears, lambda: not ears.speaking)
            continue
        if await _until(ears, lambda: ears.spoke_since_mark):
            tr.reply_ms = round((ears.changed_at - spoke_until) * 1000, 1)
    else:
        await _until(ears, lambda: ears.ended, 30.0)
    if call.is_up:
        await call.hangup()
    return report


async def serve(args: argparse.Namespace) -> None:
    """Answer calls until SIGTERM; one JSON line per finished call."""
    script = json.loads(Path(args.script).read_text(encoding="utf-8"))
    customers: dict[str, Any] = script.get("customers", {})
    gap_ms = script.get("gap_ms", [300, 800])
    rng = random.Random(script.get("seed", 1))
    engine = SipEngine(
        SipConfig(
            sip_port=args.port,
            rtp_port=args.rtp_port,
            rtp_port_range=40,
            caller_id="customer",
            answer_incoming=True,
            answer_after_s=args.answer_after,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    out = Path(args.out)
    tasks: set[asyncio.Task[Any]] = set()

    async def handle(call: Call) -> None:
        number = "".join(ch for ch in call.target.split("@")[0] if ch.isdigit())
        customer = customers.get(number) or script.get("default") or {"turns": []}
        try:
            report = await converse(call, customer, rng, gap_ms)
        except Exception:  # a broken customer must not take the others down
            log.exception("customer %s failed", number[-4:])
            return
        with out.open("a", encoding="utf-8") as handle_out:
            handle_out.write(json.dumps(asdict(report), ensure_ascii=False) + "\n")

    await engine.start()
    print("READY", flush=True)
    try:
        while not stop.is_set():
            getter = asyncio.ensure_future(engine.next_incoming())
            stopper = asyncio.ensure_future(stop.wait())
            done, _pending = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                task = asyncio.create_task(handle(getter.result()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                getter.cancel()
            stopper.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
    finally:
        await engine.stop()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--answer-after", type=float, default=0.5)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
