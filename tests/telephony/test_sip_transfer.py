"""Transfers against real peers: blind (REFER) and bridged (second leg), with the summary header."""

from __future__ import annotations

import asyncio
import re
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dialog.actions import TransferSummary
from sip_peers.peers import Baresip, Sipp, dominant_hz, rms, tone
from telephony import CallOutcome, HangupBy, TransferResult, decode_summary
from tests.telephony.conftest import CALLEE_HZ, ROBOT_HZ, SEAT_HZ, engine, run
from tts.audio import read_wav

SUMMARY = TransferSummary(
    name="张三",
    grade="A",
    tags=["有意向"],
    last_turns=[{"robot": "需要办理吗？", "callee": "转人工"}],
    node="offer",
    variables={"amount": "5000"},
)


#: baresip drops a Refer-To longer than ~256 characters: the blind-transfer summary stays short.
SHORT_SUMMARY = {"name": "张三", "grade": "A", "node": "offer"}


def _seat_summary(seat: Sipp) -> dict:  # type: ignore[type-arg]
    m = re.search(r"SUMMARY=([A-Za-z0-9_-]+)", seat.logged())
    assert m, f"no summary logged by the seat: {seat.logged()!r}"
    return decode_summary(m.group(1))


def test_blind_transfer_reaches_the_seat_with_the_summary(
    tmp_path: Path, customer_wav: Path, seat_ulaw: Path, workdir: Callable[[str], Path]
) -> None:
    """baresip (the customer) honours our REFER and calls the sipp seat."""

    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with (
                Baresip(tmp_path, customer_wav) as customer,
                Sipp("uas_seat.xml", workdir("seat"), wav=seat_ulaw) as seat,
            ):
                result = await eng.dial(customer.uri, ring_timeout_s=5)
                assert result.call is not None
                call = result.call
                xfer = await call.transfer_blind(seat.uri_for("seat1"), summary=SHORT_SUMMARY)
                ended = await asyncio.wait_for(call.wait_ended(), 5)
                await asyncio.sleep(0.5)
                output = customer.output()
                summary = _seat_summary(seat)
        assert xfer == TransferResult("blind", True, True, 200, "OK", xfer.at)
        assert ended.transferred and ended.by is HangupBy.ROBOT
        assert "Call established: sip:seat1@" in output, output[-3000:]
        assert summary == SHORT_SUMMARY

    run(scenario())


def test_refer_refused_then_bridged_transfer_with_summary_header(
    tmp_path: Path, callee_ulaw: Path, seat_ulaw: Path, workdir: Callable[[str], Path]
) -> None:
    """A trunk answering 405 to REFER: blind fails cleanly, bridged works, audio flows both ways."""

    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with (
                Sipp("uas_refuse_refer.xml", workdir("callee"), wav=callee_ulaw) as callee,
                Sipp("uas_seat.xml", workdir("seat"), wav=seat_ulaw) as seat,
            ):
                result = await eng.dial(callee.uri, ring_timeout_s=5)
                assert result.call is not None
                call = result.call
                call.play(tone(ROBOT_HZ, 4.0))
                await asyncio.sleep(0.6)
                blind = await call.transfer_blind(seat.uri_for("seat1"), summary=SUMMARY, timeout_s=5)
                assert (blind.success, blind.seat_answered, blind.sip_code) == (False, False, 405)
                assert call.is_up
                bridged = await call.transfer_bridged(seat.uri_for("seat1"), summary=SUMMARY)
                assert bridged.success and bridged.seat_answered and not call.playing
                assert eng.active_calls == 2
                await asyncio.sleep(1.5)
                ended = await call.hangup()
                assert callee.wait(5) == 0, callee.out_file.read_text(errors="replace")[-2000:]
                assert seat.wait(5) == 0, seat.out_file.read_text(errors="replace")[-2000:]  # got its BYE
                assert eng.active_calls == 0
                summary = _seat_summary(seat)
                refer_summary = _seat_summary(callee)  # the REFER carried the header too
        assert refer_summary["variables"] == {"amount": "5000"}
        assert summary["last_turns"] == [{"robot": "需要办理吗？", "callee": "转人工"}]
        assert ended.transferred and ended.by is HangupBy.ROBOT
        with wave.open(str(ended.recording_path)) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
        bridge_at = int((bridged.at - (call.answer_at or 0)) * 8000)
        before, after = x[: max(bridge_at - 800, 800)], x[bridge_at + 2400 :]
        assert abs(dominant_hz(before[:, 1].tobytes()) - ROBOT_HZ) < 20  # robot before the bridge
        assert abs(dominant_hz(after[:, 1].tobytes()) - SEAT_HZ) < 20  # seat after it
        assert abs(dominant_hz(after[:, 0].tobytes()) - CALLEE_HZ) < 20  # callee all along

    run(scenario())


def test_bridged_seat_hears_customer_and_hangs_up(
    tmp_path: Path, customer_wav: Path, seat_ulaw: Path, workdir: Callable[[str], Path]
) -> None:
    """baresip hears the seat once bridged; the seat hangs up first: Ended.by is ``seat``."""

    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with (
                Baresip(tmp_path, customer_wav) as customer,
                Sipp("uas_answer_bye.xml", workdir("seat"), wav=seat_ulaw) as seat,
            ):
                result = await eng.dial(customer.uri, ring_timeout_s=5)
                assert result.call is not None
                call = result.call
                bridged = await call.transfer_bridged(seat.uri_for("seat2"))
                assert bridged.success
                ended = await asyncio.wait_for(call.wait_ended(), 8)
                assert seat.wait(5) == 0
                await asyncio.sleep(0.3)
                decoded = [p for p in customer.recordings() if p.name.endswith("-dec.wav")]
        assert ended.by is HangupBy.SEAT and ended.transferred
        heard = read_wav(decoded[-1]).pcm
        assert abs(dominant_hz(heard[-8000 * 2 :]) - SEAT_HZ) < 20  # the customer heard the seat

    run(scenario())


def test_bridged_transfer_seat_busy_keeps_the_robot_on_the_call(
    tmp_path: Path, callee_ulaw: Path, workdir: Callable[[str], Path]
) -> None:
    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with (
                Sipp("uas_answer_stream.xml", workdir("callee"), wav=callee_ulaw) as callee,
                Sipp("uas_reject_486.xml", workdir("seat")) as seat,
            ):
                result = await eng.dial(callee.uri, ring_timeout_s=5)
                assert result.call is not None
                call = result.call
                res = await call.transfer_bridged(seat.uri, summary=SUMMARY)
                assert (res.success, res.seat_answered, res.sip_code) == (False, False, 486)
                assert call.is_up and eng.active_calls == 1
                call.play(tone(ROBOT_HZ, 0.4))
                await asyncio.wait_for(call.wait_played(), 3)
                frames = [await asyncio.wait_for(call.frames.get(), 2) for _ in range(10)]
                assert rms(b"".join(frames)) > 1000
                ended = await call.hangup()
                assert callee.wait(5) == 0
        assert not ended.transferred and ended.by is HangupBy.ROBOT
        assert result.outcome is CallOutcome.ANSWERED

    run(scenario())
