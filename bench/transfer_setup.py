"""Transfer set-up time: from offering a seat (its INVITE) to the callee bridged to it, on loopback.

One :class:`telephony.SipEngine` dials a sipp callee (answers, streams audio), then hands the call to a
sipp seat the way a campaign call does (:func:`waihu.voice.seat_transfer.hunt`: hold music playing, the
seat leg dialled, bridged on answer), ``--rounds`` times in a row. The seats answer at once (``uas_seat``)
so the figure is the platform's own cost: SIP round trip + our bridge. ``--ring`` uses a seat that rings
2.5 s first (``uas_seat_ring_answer``) to show the same path with a human-like ring.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/transfer_setup.py [--rounds 20] [--ring]
Needs sipp (apt package ``sip-tester``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from sip_peers.peers import Sipp, free_udp_port, tone, write_ulaw_for_sipp  # noqa: E402
from telephony import SipConfig  # noqa: E402
from telephony.engine import SipEngine  # noqa: E402
from waihu.voice.hold_audio import HoldAudio  # noqa: E402
from waihu.voice.seat_transfer import FixedSeat, hunt  # noqa: E402

SUMMARY = {"name": "张三", "grade": "A", "tags": ["有意向"], "node": "offer"}


async def _round(engine: SipEngine, callee: str, seat: str, *, seat_hangs_up: bool) -> tuple[float, float]:
    """(offered → bridged, seat answered → bridged) in ms for one call."""
    dialled = await engine.dial(callee, ring_timeout_s=5)
    call = dialled.call
    assert call is not None, dialled
    result, legs = await hunt(call, FixedSeat(seat, ring_s=10), SUMMARY, hold=HoldAudio(call, None))
    assert result is not None and result.success, (result, legs)
    offered, answered = legs[0].offered_at, legs[0].answer_at or result.at
    if seat_hangs_up:  # the ringing seat's scenario ends the call itself
        await asyncio.wait_for(call.wait_ended(), 15)
    else:
        await call.hangup()
    return (result.at - offered) * 1000, (result.at - answered) * 1000


async def main(rounds: int, ring: bool) -> dict[str, object]:
    """Run the rounds; the figures as a dict."""
    work = Path(tempfile.mkdtemp(prefix="transfer-bench-"))
    (work / "callee").mkdir()
    (work / "seat").mkdir()
    audio = write_ulaw_for_sipp(work / "tone.ulaw", tone(1000, 2.0))
    scenario = "uas_seat_ring_answer.xml" if ring else "uas_seat.xml"
    config = SipConfig(bind_address="127.0.0.1", sip_port=free_udp_port(), rtp_port=free_udp_port(40))
    setup: list[float] = []
    bridge: list[float] = []
    with (
        Sipp("uas_answer_stream.xml", work / "callee", wav=audio, calls=rounds, timeout_s=600) as callee,
        Sipp(scenario, work / "seat", wav=audio, calls=rounds, timeout_s=600) as seat,
    ):
        async with SipEngine(config) as engine:
            for _ in range(rounds):
                offered_ms, bridged_ms = await _round(
                    engine, callee.uri, seat.uri_for("seat1"), seat_hangs_up=ring
                )
                setup.append(offered_ms)
                bridge.append(bridged_ms)
                await asyncio.sleep(0.2)
    return {
        "seat": scenario,
        "rounds": rounds,
        "offered_to_bridged_ms": {p: round(percentile(setup, p), 1) for p in (50, 95, 100)},
        "answered_to_bridged_ms": {p: round(percentile(bridge, p), 1) for p in (50, 95, 100)},
        "load_average": os.getloadavg(),
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--ring", action="store_true", help="seats ring 2.5 s before answering")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rounds, args.ring)), indent=1))
