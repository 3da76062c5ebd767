"""A third SIP stack: linphonec (liblinphone/belle-sip) as the callee and as the seat.

The same calls the sipp and baresip tests make, against an independent implementation, so three
stacks agree: answer, two-way G.711 audio, bridged and blind transfers, the summary header.
"""

from __future__ import annotations

import asyncio
import re
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sip_peers.linphone import Linphone
from sip_peers.peers import Baresip, Sipp, dominant_hz, rms, tone, write_pcm_wav
from telephony import Call, HangupBy, SipEngine, TransferResult, decode_summary
from tests.conftest import FLOWS
from tests.telephony import test_dial_conversation
from tests.telephony.conftest import CALLEE_HZ, CUSTOMER_HZ, ROBOT_HZ, SEAT_HZ, engine, run
from tests.telephony.test_dial_conversation import VARS, _customer, _dial, _prompt_s
from tests.telephony.test_sip_transfer import SHORT_SUMMARY, SUMMARY, _seat_summary

pytestmark = pytest.mark.sip

#: The credit-card flow with its prompts cached (the module-scoped fixture of the baresip test).
card_flow = test_dial_conversation.card_flow

LINPHONE_HZ = 900.0  # what linphonec callees say (distinct from every other peer's tone)


def _wav(path: Path, hz: float, seconds: float = 1.0, tail_s: float = 30.0) -> Path:
    """A tone then silence: linphonec loops its file, the silence keeps it to one tone per call."""
    return write_pcm_wav(path, tone(hz, seconds) + bytes(int(tail_s * 8000) * 2))


def _loud_hz(pcm: bytes) -> float:
    """The dominant frequency of the loud part of a recording (linphonec records silence around)."""
    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(x) > 1000)
    assert loud.size > 800, f"recording is (nearly) silent: rms {rms(pcm):.0f}"
    return dominant_hz(x[loud[0] : loud[-1]].tobytes())


async def _refer(
    eng: SipEngine, callee_uri: str, seat_uri: str, timeout_s: float = 20.0
) -> tuple[Call, TransferResult]:
    """Dial the callee and REFER it to the seat with the short summary (blind transfer)."""
    result = await eng.dial(callee_uri, ring_timeout_s=5)
    assert result.call is not None, result
    xfer = await result.call.transfer_blind(seat_uri, summary=SHORT_SUMMARY, timeout_s=timeout_s)
    return result.call, xfer


def test_robot_calls_linphone_audio_both_ways(tmp_path: Path) -> None:
    """linphonec answers the robot; each side hears the other's tone."""
    customer = _wav(tmp_path / "customer.wav", LINPHONE_HZ)

    async def scenario(callee: Linphone) -> tuple[str, bytes, HangupBy]:
        async with engine(tmp_path) as eng:
            result = await eng.dial(callee.uri, ring_timeout_s=5)
            assert result.call is not None, result
            call = result.call
            call.play(tone(ROBOT_HZ, 1.5))
            frames = [await asyncio.wait_for(call.frames.get(), 2) for _ in range(75)]  # 1.5 s
            await asyncio.wait_for(call.wait_played(), 5)
            ended = await call.hangup()
        return result.outcome, b"".join(frames), ended.by

    with Linphone(tmp_path, customer) as callee:
        outcome, received, by = run(scenario(callee))
        assert callee.wait_for("ended", 5), callee.output()[-2000:]
    assert outcome == "answered" and by is HangupBy.ROBOT
    assert "connected." in callee.output()
    assert abs(_loud_hz(received) - LINPHONE_HZ) < 20  # the robot heard linphonec
    assert abs(_loud_hz(callee.heard()) - ROBOT_HZ) < 20  # linphonec heard the robot


def test_bridged_transfer_to_a_linphone_seat(
    tmp_path: Path, callee_ulaw: Path, workdir: Callable[[str], Path]
) -> None:
    """sipp is the callee, linphonec the seat: it gets the summary header and hears the callee."""
    seat_wav = _wav(tmp_path / "seat.wav", SEAT_HZ, seconds=3.0)

    async def scenario(callee: Sipp, seat: Linphone) -> None:
        async with engine(tmp_path) as eng:
            result = await eng.dial(callee.uri, ring_timeout_s=5)
            assert result.call is not None
            call = result.call
            call.play(tone(ROBOT_HZ, 4.0))
            await asyncio.sleep(0.6)
            bridged = await call.transfer_bridged(seat.uri_for("seat1"), summary=SUMMARY)
            assert bridged.success and bridged.seat_answered and not call.playing, bridged
            assert eng.active_calls == 2
            await asyncio.sleep(2.0)
            ended = await call.hangup()
            assert callee.wait(5) == 0, callee.out_file.read_text(errors="replace")[-2000:]
            assert seat.wait_for("ended", 5), seat.output()[-2000:]  # the seat got its BYE
            assert eng.active_calls == 0
        assert ended.transferred and ended.by is HangupBy.ROBOT
        with wave.open(str(ended.recording_path)) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
        bridge_at = int((bridged.at - (call.answer_at or 0)) * 8000)
        after = x[bridge_at + 2400 :]
        assert abs(_loud_hz(after[:, 1].tobytes()) - SEAT_HZ) < 20  # the callee got the seat

    with (
        Sipp("uas_answer_stream.xml", workdir("callee"), wav=callee_ulaw) as callee,
        Linphone(tmp_path, seat_wav, user="seat1") as seat,
    ):
        run(scenario(callee, seat))
        headers = seat.received_header("X-Waihu-Summary")
    assert headers, seat.log()[-3000:]
    summary = decode_summary(headers[0])
    assert summary["last_turns"] == [{"robot": "需要办理吗？", "callee": "转人工"}]
    assert abs(_loud_hz(seat.heard()) - CALLEE_HZ) < 20  # the seat heard the callee, not the robot


def test_blind_transfer_from_baresip_to_a_linphone_seat(tmp_path: Path, customer_wav: Path) -> None:
    """baresip honours our REFER and calls linphonec: three stacks on one transfer."""
    seat_wav = _wav(tmp_path / "seat.wav", SEAT_HZ)

    async def scenario(customer: Baresip, seat: Linphone) -> None:
        async with engine(tmp_path) as eng:
            call, xfer = await _refer(eng, customer.uri, seat.uri_for("seat1"))
            ended = await asyncio.wait_for(call.wait_ended(), 5)
        assert xfer.success and xfer.seat_answered, xfer
        assert ended.transferred and ended.by is HangupBy.ROBOT

    with Baresip(tmp_path, customer_wav) as customer, Linphone(tmp_path, seat_wav, user="seat1") as seat:
        run(scenario(customer, seat))
        assert seat.wait_for("connected.", 5), seat.output()[-2000:]
        assert seat.wait_for("Media streams established", 5), seat.output()[-2000:]
        # baresip leaves the Refer-To's ``?X-Waihu-Summary=`` in the INVITE's Request-URI (it does
        # not turn URI headers into header fields): the seat finds it there, as the sipp seat does.
        found = re.search(r"^INVITE sip:seat1@[^?\s]*\?X-Waihu-Summary=([A-Za-z0-9_-]+)", seat.log(), re.M)
        deadline = time.monotonic() + 6
        while rms(seat.heard()) < 300 and time.monotonic() < deadline:  # baresip's tone is first
            time.sleep(0.1)
        customer.send("/hangup")
        seat.wait_for("ended", 5)
    assert "Call established: sip:seat1@" in customer.output(), customer.output()[-3000:]
    assert found and decode_summary(found.group(1)) == SHORT_SUMMARY, seat.log()[-3000:]
    assert abs(_loud_hz(seat.heard()) - CUSTOMER_HZ) < 20  # the seat heard the customer


def test_conversation_with_a_linphone_customer(tmp_path: Path, card_flow) -> None:  # type: ignore[no-untyped-def]
    """``waihu dial`` runs the credit-card flow on linphonec playing the refusing customer."""
    greeting_s = _prompt_s(card_flow.nodes["greeting"].prompt[0].format(bank="星河银行", **VARS))
    first = greeting_s + 0.8
    second = first + 1.2 + 2.0 + 3.0  # during the offer: a barge-in
    third = second + 1.5 + 2.0 + 3.0  # during the objection
    wav = _customer(tmp_path, [(first, "好"), (second, "不需要了"), (third, "谢谢 不用了")], tail_s=40)
    with Linphone(tmp_path, wav) as customer:
        report = _dial(tmp_path, customer.uri, FLOWS / "credit_card_installment.yaml")
        assert customer.wait_for("ended", 5), customer.output()[-2000:]
        heard = customer.heard()
    assert (report["outcome"], report["sip_code"]) == ("answered", 200), report
    assert [turn["intent"] for turn in report["transcript"]] == ["affirm", "deny", "deny"], report["lines"]
    assert [turn["node"] for turn in report["transcript"]] == ["greeting", "offer", "objection"]
    assert (report["grade"], report["hangup_by"]) == ("D", "robot")
    # linphonec heard the robot speak: its recording of the greeting's span is not silence.
    greeting = heard[: int(greeting_s * 8000) * 2]
    assert rms(greeting) > 300, f"linphonec heard silence during the greeting: rms {rms(greeting):.0f}"


def test_linphone_customer_follows_a_blind_transfer_to_a_sipp_seat(
    tmp_path: Path, seat_ulaw: Path, workdir: Callable[[str], Path]
) -> None:
    """linphonec, the customer, honours our REFER and calls the sipp seat with the summary.

    linphone 5.1.65 (Debian 12) ends the REFER subscription with a malformed header,
    ``Subscription-State: terminated;reason=reason=noresource``: pjsip drops that final NOTIFY as a
    syntax error, so the robot cannot learn the transfer's outcome and reports 408 "no final
    NOTIFY" although the customer is talking to the seat. Pinned here so a fixed linphone (or a
    change on our side) shows up; carriers' REFER handling is what production relies on.
    """
    customer_wav = _wav(tmp_path / "customer.wav", LINPHONE_HZ)

    async def scenario(customer: Linphone, seat: Sipp) -> None:
        async with engine(tmp_path) as eng:
            call, xfer = await _refer(eng, customer.uri, seat.uri_for("seat1"), timeout_s=4)
            assert customer.wait_for("Call 2 with <sip:seat1@", 5), customer.output()[-2000:]
            assert call.is_up  # held by linphonec, not hung up: the robot ends it
            ended = await call.hangup()
        assert (xfer.success, xfer.sip_code, xfer.reason) == (False, 408, "no final NOTIFY"), xfer
        assert ended.by is HangupBy.ROBOT

    with (
        Linphone(tmp_path, customer_wav) as customer,
        Sipp("uas_seat.xml", workdir("seat"), wav=seat_ulaw) as seat,
    ):
        run(scenario(customer, seat))
        assert customer.wait_for("connected.", 5)
        summary = _seat_summary(seat)
        notify_state = customer.received_header("Subscription-State")
    assert "terminated;reason=reason=noresource" in notify_state, notify_state
    assert summary == SHORT_SUMMARY
