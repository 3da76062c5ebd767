"""Dialling real sipp peers on loopback: outcome mapping, ring timeout, unreachable, the 4-call cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sip_peers.peers import HOST, Sipp, free_udp_port, tone
from telephony import CallOutcome, TooManyCalls
from tests.telephony.conftest import engine, run


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (486, CallOutcome.BUSY),
        (404, CallOutcome.INVALID_NUMBER),
        (480, CallOutcome.NO_ANSWER),
        (603, CallOutcome.REJECTED),
        (503, CallOutcome.UNAVAILABLE),
    ],
)
def test_final_responses_map_to_outcomes(tmp_path: Path, code: int, outcome: CallOutcome) -> None:
    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with Sipp(f"uas_reject_{code}.xml", tmp_path) as callee:
                result = await eng.dial(callee.uri, ring_timeout_s=5)
                assert callee.wait(5) == 0, callee.out_file.read_text(errors="replace")[-2000:]
        assert result.outcome is outcome
        assert result.sip_code == code
        assert result.reason  # raw reason phrase kept
        assert result.call is None and result.answer_at is None
        assert result.ring_at is not None and result.end_at is not None
        assert result.started_at <= result.ring_at <= result.end_at

    run(scenario())


def test_ring_timeout_cancels_and_reports_no_answer(tmp_path: Path, callee_ulaw: Path) -> None:
    """The peer rings (with early media) forever: we CANCEL after our ring timeout; it answers 487."""

    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with Sipp("uas_no_answer.xml", tmp_path, wav=callee_ulaw) as callee:
                t0 = time.monotonic()
                result = await eng.dial(callee.uri, ring_timeout_s=1.0)
                elapsed = time.monotonic() - t0
                assert callee.wait(5) == 0, callee.out_file.read_text(errors="replace")[-2000:]
        assert result.outcome is CallOutcome.NO_ANSWER
        assert (result.sip_code, result.reason) == (487, "Request Terminated")
        assert 0.9 < elapsed < 3.0
        assert result.ring_at is not None and result.call is None

    run(scenario())


def test_unreachable_peer_is_failed(tmp_path: Path) -> None:
    """Nothing listens on the target port (TCP: connection refused at once; over UDP pjsip's
    Timer B gives the same outcome after 32 s): a transport failure, not a SIP answer."""

    async def scenario() -> None:
        async with engine(tmp_path, enable_tcp=True) as eng:
            t0 = time.monotonic()
            result = await eng.dial(
                f"sip:13800001234@{HOST}:{free_udp_port()};transport=tcp", ring_timeout_s=10
            )
            assert time.monotonic() - t0 < 5
        assert result.outcome is CallOutcome.FAILED, result
        assert result.sip_code in (408, 503) and result.ring_at is None

    run(scenario())


def test_bad_uri_is_failed_not_a_crash(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            result = await eng.dial("not a uri", ring_timeout_s=1)
            assert result.outcome is CallOutcome.FAILED and result.sip_code == 0
            assert "URI" in result.reason or "uri" in result.reason.lower()
            assert eng.active_calls == 0

    run(scenario())


def test_four_calls_per_process_and_a_clear_error_for_the_fifth(
    tmp_path: Path, callee_ulaw: Path, workdir: Callable[[str], Path]
) -> None:
    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with Sipp("uas_answer_stream.xml", workdir("sipp"), wav=callee_ulaw, calls=4) as callee:
                results = await asyncio.gather(
                    *(eng.dial(callee.uri_for(f"1380000{i:04d}"), ring_timeout_s=5) for i in range(4))
                )
                assert [r.outcome for r in results] == [CallOutcome.ANSWERED] * 4
                assert eng.active_calls == 4
                with pytest.raises(TooManyCalls, match="4 calls"):
                    await eng.dial(callee.uri, ring_timeout_s=5)
                for r in results:
                    assert r.call is not None and r.setup_s is not None and r.setup_s < 1.0
                    await asyncio.wait_for(r.call.frames.get(), 2)  # media flows on every call
                await asyncio.gather(*(r.call.hangup() for r in results if r.call))
                assert eng.active_calls == 0
                assert callee.wait(5) == 0

    run(scenario())


def test_registration_with_digest_credentials(tmp_path: Path) -> None:
    """sipp as a registrar challenges with 401 and verifies the digest."""
    from telephony import Registration

    async def scenario() -> None:
        with Sipp("registrar.xml", tmp_path) as registrar:
            reg = Registration(f"sip:{HOST}:{registrar.port}", "robot", "secret", realm="waihu")
            async with engine(tmp_path, registration=reg) as eng:
                assert await eng.wait_registered(5), eng.registration
                assert eng.registration is not None and eng.registration[0] == 200
                assert registrar.wait(5) == 0, registrar.out_file.read_text(errors="replace")[-2000:]
            assert "AUTH=true" in registrar.logged()

    run(scenario())


def test_caller_id_and_extra_headers_per_call(tmp_path: Path, seat_ulaw: Path) -> None:
    async def scenario() -> None:
        async with engine(tmp_path, display_name="Bank") as eng:
            with Sipp("uas_seat.xml", tmp_path, wav=seat_ulaw) as peer:
                result = await eng.dial(
                    peer.uri, ring_timeout_s=5, caller_id="4008001234", headers={"X-Campaign": "c42"}
                )
                assert result.call is not None
                await result.call.hangup()
                assert peer.wait(5) == 0
                logged = peer.logged()
        assert 'FROM= "Bank" <sip:4008001234@127.0.0.1' in logged, logged
        assert "CAMPAIGN= c42" in logged or "CAMPAIGN=c42" in logged, logged

    run(scenario())


def test_stop_hangs_up_live_calls(tmp_path: Path, callee_ulaw: Path) -> None:
    async def scenario() -> None:
        from telephony import HangupBy

        async with engine(tmp_path) as eng:
            with Sipp("uas_answer_stream.xml", tmp_path, wav=callee_ulaw) as callee:
                result = await eng.dial(callee.uri, ring_timeout_s=5)
                assert result.call is not None
                result.call.play(tone(400, 3.0))
                await eng.stop()
                ended = await asyncio.wait_for(result.call.wait_ended(), 2)
                assert ended.by is HangupBy.ROBOT and not result.call.playing
                assert callee.wait(5) == 0  # it got its BYE
                assert eng.active_calls == 0

    run(scenario())
