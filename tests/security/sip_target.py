"""A SIP engine in its own process, the target of the attack tests (a crash must not kill pytest).

Run ``python -m tests.security.sip_target SIP_PORT RTP_PORT``; it prints ``READY`` when up, then reads
commands on stdin, one per line, and answers one JSON line each:

- ``dial URI SECONDS``: dial, keep an answered call up for SECONDS (or until the callee hangs up) and
  report ``{"outcome": ..., "code": ...}``;
- ``quit``: stop the engine and exit 0.
"""

from __future__ import annotations

import asyncio
import json
import sys

from telephony import SipConfig, SipEngine


async def _serve(sip_port: int, rtp_port: int) -> None:
    engine = SipEngine(SipConfig(sip_port=sip_port, rtp_port=rtp_port, rtp_port_range=40))
    await engine.start()
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "quit":
                break
            _cmd, uri, seconds = line.split()
            result = await engine.dial(uri, ring_timeout_s=5)
            if result.call is not None:
                try:
                    await asyncio.wait_for(result.call.wait_ended(), float(seconds))
                except TimeoutError:
                    await result.call.hangup()
            print(json.dumps({"outcome": str(result.outcome), "code": result.sip_code}), flush=True)
    finally:
        await engine.stop()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), int(sys.argv[2])))
