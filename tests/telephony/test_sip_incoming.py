"""Reacting customers (sip_peers.customers) answer a robot engine and measure it.

The customer is its own process (one pjsua2 user agent per process); the robot is a plain engine
here that greets, waits for the answer, and replies after a known delay.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sip_peers.peers import free_udp_port, tone, write_pcm_wav
from telephony import TelephonyError
from tests.conftest import ROOT
from tests.telephony.conftest import ROBOT_HZ, engine, run

pytestmark = pytest.mark.sip
REPLY_DELAY_S = 0.4


def _customer_process(tmp_path: Path, script: dict[str, object]) -> tuple[subprocess.Popen[str], int, Path]:
    port = free_udp_port()
    script_path = tmp_path / "script.json"
    script_path.write_text(json.dumps(script), encoding="utf-8")
    out = tmp_path / "calls.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sip_peers.customers", "--port", str(port), "--rtp-port",
         str(free_udp_port(40)), "--script", str(script_path), "--out", str(out), "--answer-after", "0.1"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
    return proc, port, out


def _loud(pcm: bytes) -> bool:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    return bool(x.size) and float(np.sqrt(np.mean(x * x))) > 300


def test_a_customer_answers_after_the_prompt_and_measures_the_reply(tmp_path: Path) -> None:
    answer = write_pcm_wav(tmp_path / "answer.wav", tone(700.0, 0.6))
    script = {"customers": {"13800001234": {"turns": [{"wav": str(answer), "intent": "affirm"}, {"hangup": True}]}},
              "gap_ms": [300, 300]}  # fmt: skip
    proc, port, out = _customer_process(tmp_path, script)

    async def robot() -> None:
        async with engine(tmp_path / "robot") as eng:
            result = await eng.dial(f"sip:13800001234@127.0.0.1:{port}", ring_timeout_s=5)
            call = result.call
            assert call is not None
            call.play(tone(ROBOT_HZ, 1.0))  # the greeting
            heard = False
            quiet_frames = 0
            while True:  # wait for the customer's answer to start, then to end
                frame = await asyncio.wait_for(call.frames.get(), 5)
                if _loud(frame):
                    heard, quiet_frames = True, 0
                elif heard:
                    quiet_frames += 1
                    if quiet_frames >= 10:
                        break
            # the reply goes out REPLY_DELAY_S after the answer ended (10 quiet frames = 0.2 s of it)
            await asyncio.sleep(REPLY_DELAY_S - 0.2)
            call.play(tone(ROBOT_HZ, 1.0))
            await asyncio.wait_for(call.wait_ended(), 10)

    try:
        run(robot(), 30)
    finally:
        proc.terminate()
        proc.wait(10)
    [report] = [json.loads(line) for line in out.read_text().splitlines()]
    assert report["number"] == "13800001234" and report["ended_by"] == "customer"
    [turn] = report["turns"]
    assert turn["intent"] == "affirm"
    # what the customer measured on the wire: our delay plus RTP/jitter-buffer latency, not less
    assert REPLY_DELAY_S * 1000 - 50 <= turn["reply_ms"] <= REPLY_DELAY_S * 1000 + 400


def test_a_robot_engine_hands_out_no_incoming_calls(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with engine(tmp_path) as robot:
            with pytest.raises(TelephonyError):
                await robot.next_incoming()

    run(scenario())
