"""Carrier announcements over real SIP: sipp sends 183 + RTP of announcements Kokoro speaks (with and
without a ring-back first), then 480/486/503 or rings on; each lands on its outcome. A ring-back then
200 is still answered. The engine's early-media tap is tested on its own too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sip_peers.early_media import (
    ANNOUNCEMENTS,
    ANNOUNCER_VOICES,
    busy_tone_audio,
    early_media_audio,
    render_scenario,
    synthesise,
    write_callee_audio,
)
from sip_peers.peers import Sipp
from telephony import CallOutcome, EarlyMedia
from tests.telephony.conftest import engine, run
from waihu.cpa.early_media import dial_listening
from waihu.cpa.tones import ringback, silence
from waihu.voice.sip_driver import record_for

pytestmark = pytest.mark.sip
REASONS = {480: "Temporarily Unavailable", 486: "Busy Here", 503: "Service Unavailable"}


@pytest.fixture(scope="module")
def recognizer() -> Any:
    from waihu.voice.call_builder import default_recognizer

    recognizer = default_recognizer("zh")
    recognizer.transcribe(bytes(16000), 8000)  # load and warm up: the first decode is slow
    return recognizer


@pytest.fixture(scope="module")
def kokoro_ready() -> None:
    from tts.kokoro_data import is_prepared

    if not is_prepared():
        pytest.skip("Kokoro is not prepared: run `waihu models prepare --only kokoro`")


def carrier(tmp_path: Path, pcm: bytes, code: int) -> Sipp:
    """sipp playing ``pcm`` as early media, then ``code`` right after it (0: rings until CANCEL)."""
    hold_ms = int(len(pcm) / 16)
    scenario = render_scenario(tmp_path, hold_ms=hold_ms, code=code, reason=REASONS.get(code, ""))
    return Sipp(str(scenario), tmp_path, wav=write_callee_audio(tmp_path, pcm), timeout_s=60)


@pytest.mark.parametrize(
    ("index", "ringback_cycles", "code"),
    [
        (0, 0, 480),  # 空号, then 480
        (5, 1, 0),  # 已关机 + English, after a ring-back, and the carrier rings on
        (7, 0, 503),  # 已停机, then 503
        (9, 1, 480),  # 暂时无法接通, after a ring-back
        (13, 0, 486),  # 用户正忙, then 486
    ],
)
def test_announcement_lands_on_its_outcome(
    tmp_path: Path, recognizer: Any, kokoro_ready: None, index: int, ringback_cycles: int, code: int
) -> None:
    item = ANNOUNCEMENTS[index]
    pcm = early_media_audio(
        synthesise(item, ANNOUNCER_VOICES[index % len(ANNOUNCER_VOICES)]),
        ringback_cycles=ringback_cycles,
        repeats=2 if code == 0 else 1,
    )

    async def scenario() -> Any:
        async with engine(tmp_path) as eng:
            with carrier(tmp_path, pcm, code) as callee:
                listened = await dial_listening(eng, callee.uri, recognizer=recognizer, ring_timeout_s=40)
                assert callee.wait(10) == 0, callee.out_file.read_text(errors="replace")[-2000:]
                assert eng.active_calls == 0
        return listened

    listened = run(scenario(), 90)
    assert listened.outcome == item.label, (listened.decision, listened.transcripts, listened.dial)
    report = record_for(listened.dial, "sip:x@y", announcement=listened.decision)
    assert report.outcome == item.label and report.carrier_announcement
    # The SIP code is kept: ours after the CANCEL (487) or the carrier's own final response.
    assert report.sip_code in (487, code)
    assert listened.dial.call is None
    if code == 0:  # only the announcement could end a call that rings on
        assert listened.dial.stop_reason and listened.dial.stop_reason.startswith(item.label)
        assert listened.dial.sip_code == 487


def listen(tmp_path: Path, recognizer: Any, pcm: bytes, code: int, ring_timeout_s: float) -> Any:
    """Dial a carrier playing ``pcm`` then ``code`` with the early-media listener; its ListenedDial."""

    async def scenario() -> Any:
        async with engine(tmp_path) as eng:
            with carrier(tmp_path, pcm, code) as callee:
                listened = await dial_listening(
                    eng, callee.uri, recognizer=recognizer, ring_timeout_s=ring_timeout_s
                )
                assert callee.wait(10) == 0
        return listened

    return run(scenario(), 60)


def test_busy_tone_in_early_media_is_busy(tmp_path: Path, recognizer: Any) -> None:
    listened = listen(tmp_path, recognizer, busy_tone_audio(12), 0, 30)
    assert listened.outcome == "busy" and listened.carrier_announcement == "busy tone"
    assert listened.dial.stop_reason is not None


def test_ringback_then_answer_is_answered(tmp_path: Path, recognizer: Any) -> None:
    async def scenario() -> Any:
        async with engine(tmp_path) as eng:
            with carrier(tmp_path, ringback(1) + silence(0.5), 200) as callee:
                listened = await dial_listening(eng, callee.uri, recognizer=recognizer, ring_timeout_s=30)
                assert listened.dial.call is not None
                frame = await asyncio.wait_for(listened.dial.call.frames.get(), 5)
                assert len(frame) == 320  # call audio flows to the call, not to the early-media tap
                await listened.dial.call.hangup()
                assert callee.wait(10) == 0
        return listened

    listened = run(scenario(), 60)
    assert listened.outcome == "answered" and listened.decision is None
    assert listened.dial.outcome is CallOutcome.ANSWERED
    assert listened.ringback_heard


def test_ringback_without_answer_is_no_answer(tmp_path: Path, recognizer: Any) -> None:
    listened = listen(tmp_path, recognizer, ringback(3), 0, 7)
    assert listened.outcome == "no_answer" and listened.decision is None
    assert listened.dial.stop_reason is None and listened.dial.sip_code == 487


def test_engine_hands_early_frames_to_the_tap_and_stops_on_request(tmp_path: Path) -> None:
    """The telephony layer alone: frames before the answer reach the tap; ``stop`` CANCELs."""

    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with carrier(tmp_path, ringback(4), 0) as callee:
                early = EarlyMedia()
                dial = asyncio.ensure_future(eng.dial(callee.uri, ring_timeout_s=30, early_media=early))
                frames = [await asyncio.wait_for(early.frames.get(), 5) for _ in range(60)]
                early.stop("test: enough heard")
                result = await asyncio.wait_for(dial, 10)
                assert callee.wait(10) == 0
        assert all(len(f) == 320 for f in frames)
        assert result.outcome is CallOutcome.NO_ANSWER and result.sip_code == 487
        assert result.stop_reason == "test: enough heard"
        assert early.closed and early.first_frame_at is not None

    run(scenario(), 60)


def test_worker_records_the_announcement_as_the_attempt_outcome(
    tmp_path: Path, recognizer: Any, kokoro_ready: None
) -> None:
    """The worker's own dial path: a claimed contact whose carrier says 已停机 then 503 is ``suspended``,
    stored with the SIP code and the announcement's text."""
    import datetime as dt

    from tests.service.helpers import add_contacts, make_campaign
    from waihu.calls.worker import DialPlan, Worker, WorkerConfig
    from waihu.service.db import open_database
    from waihu.service.models import Attempt
    from waihu.service.scheduler import claim_due_contacts

    item = ANNOUNCEMENTS[6]  # 您拨打的电话已停机。
    pcm = early_media_audio(synthesise(item, ANNOUNCER_VOICES[1]), ringback_cycles=1)
    engine_db, factory = open_database(f"sqlite:///{tmp_path / 'waihu.db'}")
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1)
        (claim,) = claim_due_contacts(session, "w", dt.datetime.now(dt.UTC), 1)

    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with carrier(tmp_path, pcm, 503) as callee:
                plan = DialPlan(routes={claim.phone: callee.uri})
                worker = Worker(factory, WorkerConfig(worker_id="w", dial_plan=plan, ring_timeout_s=30))
                worker._recognizers["zh"] = recognizer
                worker._active.add(claim.attempt_id)
                await worker._handle(eng, claim)
                assert callee.wait(10) == 0

    run(scenario(), 90)
    with factory() as session:
        attempt = session.get(Attempt, claim.attempt_id)
        assert attempt is not None
        assert attempt.outcome == "suspended", (attempt.outcome, attempt.sip_code, attempt.sip_reason)
        assert attempt.sip_code in (487, 503) and "停机" in (attempt.carrier_announcement or "")
    engine_db.dispose()
