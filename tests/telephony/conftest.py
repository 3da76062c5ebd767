"""Fixtures for the telephony tests: a fresh engine per test on free loopback ports, test audio."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sip_peers.peers import free_udp_port, tone, write_pcm_wav, write_ulaw_for_sipp

T = TypeVar("T")
CALLEE_HZ = 1000.0  # what sipp callees stream
SEAT_HZ = 1200.0  # what sipp seats stream
CUSTOMER_HZ = 700.0  # what baresip customers say first
ROBOT_HZ = 400.0  # what the robot plays


def run(coro: Awaitable[T], timeout_s: float = 30.0) -> T:
    """Run a coroutine to completion on a fresh event loop, with a hard timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(bounded())


@asynccontextmanager
async def engine(tmp: Path, **overrides: Any):  # type: ignore[no-untyped-def]
    """A started :class:`telephony.SipEngine` on free ports, stopped on exit (also on failure)."""
    from telephony import SipConfig, SipEngine

    cfg = dict(
        sip_port=free_udp_port(),
        rtp_port=free_udp_port(40),
        rtp_port_range=40,
        recordings_dir=tmp / "recordings",
    )
    cfg.update(overrides)
    eng = SipEngine(SipConfig(**cfg))
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()


@pytest.fixture
def callee_ulaw(tmp_path: Path) -> Path:
    """A 2 s 1 kHz tone as headerless mu-law, streamed by the sipp callees."""
    return write_ulaw_for_sipp(tmp_path / "callee.ulaw", tone(CALLEE_HZ, 2.0))


@pytest.fixture
def seat_ulaw(tmp_path: Path) -> Path:
    """A 2 s 1.2 kHz tone as headerless mu-law, streamed by the sipp seats."""
    return write_ulaw_for_sipp(tmp_path / "seat.ulaw", tone(SEAT_HZ, 2.0))


@pytest.fixture
def customer_wav(tmp_path: Path) -> Path:
    """What baresip says: 1 s of 700 Hz, then silence (baresip hangs up when its file ends)."""
    return write_pcm_wav(tmp_path / "customer.wav", tone(CUSTOMER_HZ, 1.0) + bytes(8000 * 2 * 20))


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Make a sub-directory of tmp_path (each sipp instance gets its own working directory)."""

    def make(name: str) -> Path:
        d = tmp_path / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    yield make
