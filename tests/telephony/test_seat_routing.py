"""Seat routing end to end: the `waihu worker` process hunts seats of the campaign's group over SIP.

Real pieces only: SQLite through SQLAlchemy, the worker process, a baresip customer recording what it
hears, sipp seats on loopback (one that rings and never answers, one that answers then hangs up, one
that is busy), and a local HTTP receiver for the signed ``seat.offered`` webhook.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sip_peers.peers import Baresip, Sipp, dominant_hz, free_udp_port, rms, tone, write_pcm_wav
from sip_peers.peers import write_ulaw_for_sipp as ulaw
from tests.conftest import ROOT
from tests.service.helpers import make_campaign
from tests.service.test_service_webhooks import LOCAL_RECEIVERS, SECRET, Receiver, serve
from tests.telephony.conftest import SEAT_HZ
from tts.audio import read_wav
from waihu.service.db import open_database
from waihu.service.flows import store_flow
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Attempt, Seat, Transfer, utcnow
from waihu.service.views import AttemptView
from waihu.service.webhooks import SIGNATURE_HEADER, WebhookSender, verify_signature
from waihu.voice.hold_audio import HOLD_NOTES_HZ

PHONE = "13800003101"
SORRY = "抱歉，人工坐席都在忙，稍后再联系您。"
FLOW = f"""\
flow: {{id: handoff, name: Hand-off, language: zh, version: 1}}
start: hello
transfer: {{skill_group: sales, seat_ring_s: 4, max_seats: 2, on_failed: sorry}}
nodes:
  hello:
    prompt: 您好，马上为您转接人工。
    barge_in: false
    then: transfer
  sorry:
    prompt: {SORRY}
    barge_in: false
    then: hangup
"""
WINDOW = 1600  # 100 ms of 8 kHz 16-bit PCM


def _campaign(
    factory: sessionmaker[Session],
    webhook_url: str | None,
    seats: list[str],
    phones: tuple[str, ...] = (PHONE,),
    flow: str = FLOW,
) -> None:
    """The hand-off flow's campaign with a contact per phone, and ``seats`` registered (in order) in
    ``sales``."""
    with factory() as session:
        stored = store_flow(session, flow, filename="handoff.yaml")
        campaign = make_campaign(
            session,
            flow_version_id=stored.version.id,
            flow_id=stored.version.flow_id,
            flow_version=stored.version.version,
            webhook_url=webhook_url,
            webhook_secret=SECRET,
            retry_policy={},
        )
        now = utcnow()
        # Another group and an unavailable seat of the group: never rung.
        session.add(Seat(uri="sip:other@127.0.0.1:9", skill_group="support", available=True, created_at=now))
        session.add(Seat(uri="sip:away@127.0.0.1:9", skill_group="sales", available=False, created_at=now))
        for uri in seats:
            session.add(Seat(uri=uri, skill_group="sales", available=True, created_at=now, updated_at=now))
        session.commit()
        rows = [
            RawRow(n, {"reference_id": f"r{n}", "phone": phone, "name": "张先生"})
            for n, phone in enumerate(phones, 1)
        ]
        import_contacts(session, campaign.id, rows)
        session.commit()


@contextmanager
def _worker(
    tmp_path: Path, db_url: str, *customers: Baresip, routes: dict[str, str] | None = None
) -> Iterator[Path]:
    """A worker process dialling the customers (baresip: by their user), or ``routes`` (phone → URI)."""
    log = tmp_path / "worker.log"
    table = {customer.user: customer.uri for customer in customers} | (routes or {})
    routes_file = tmp_path / "routes.yaml"
    routes_file.write_text("".join(f'"+86{phone}": "{uri}"\n' for phone, uri in table.items()))
    command = [sys.executable, "-m", "waihu.cli", "worker", "--db", db_url, "--routes", str(routes_file),
               "--sip-port", str(free_udp_port()), "--rtp-port", str(free_udp_port(40)),
               "--ring-timeout", "5", "--classifier", "rules"]  # fmt: skip
    worker = subprocess.Popen(command, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        yield log
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def _finished(factory: sessionmaker[Session], log: Path, count: int = 1) -> Attempt:
    """Wait for ``count`` finished attempts; returns the first."""
    deadline = time.monotonic() + 150
    while True:
        with factory() as session:
            attempts = list(session.scalars(select(Attempt).order_by(Attempt.id)))
        if len(attempts) >= count and all(attempt.outcome is not None for attempt in attempts):
            return attempts[0]
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)


def _legs(factory: sessionmaker[Session]) -> list[Transfer]:
    with factory() as session:
        return list(session.scalars(select(Transfer).order_by(Transfer.position)))


def _seats_free(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return not any(seat.busy for seat in session.scalars(select(Seat)))


def _quiet(tmp_path: Path) -> Path:
    """Early media for the ringing seats (a seat leg never plays it to the callee)."""
    return ulaw(tmp_path / "quiet.ulaw", bytes(8000 * 2))


def _hold_windows(pcm: bytes) -> list[bool]:
    """Per 100 ms of what the customer heard: True where the hold music plays."""
    windows = [pcm[i : i + WINDOW] for i in range(0, len(pcm) - WINDOW, WINDOW)]
    return [rms(w) > 300 and min(abs(dominant_hz(w) - hz) for hz in HOLD_NOTES_HZ) < 25 for w in windows]


def _hold_span(music: list[bool]) -> tuple[int, int]:
    """[start, end) of the longest run of hold-music windows (speech may match a note now and then)."""
    best = (0, 0)
    start = None
    for i, is_music in enumerate([*music, False]):
        if is_music and start is None:
            start = i
        elif not is_music and start is not None:
            best = max(best, (start, i), key=lambda span: span[1] - span[0])
            start = None
    return best


def _heard_hold(heard: list[Path], customer: Baresip) -> tuple[bytes, tuple[int, int]]:
    """What the customer recorded, and where the hold music played in it (at least 1 s of it)."""
    assert heard, customer.output()[-2000:]
    pcm = read_wav(heard[-1]).pcm
    music = _hold_windows(pcm)
    assert sum(music) >= 10, f"only {sum(music) / 10:.1f} s of hold music reached the customer"
    return pcm, _hold_span(music)


def _longest_silence(pcm: bytes, start: int, end: int) -> int:
    """The longest run of silent 100 ms windows in [start, end)."""
    longest = run = 0
    for i in range(start, end):
        run = run + 1 if rms(pcm[i * WINDOW : (i + 1) * WINDOW]) < 100 else 0
        longest = max(longest, run)
    return longest


def test_a_silent_seat_is_skipped_the_next_one_takes_the_call(
    tmp_path: Path, workdir: Callable[[str], Path]
) -> None:
    """Seat 1 rings past seat_ring_s (CANCEL), seat 2 answers: the callee gets seat 2, hears hold
    music (never silence) meanwhile, the record says so and seat.offered arrives signed for both."""
    db_url = f"sqlite:///{tmp_path / 'seats.db'}"
    _engine, factory = open_database(db_url)
    receiver = Receiver()
    silence = write_pcm_wav(tmp_path / "silence.wav", bytes(8000 * 2 * 40))
    seat_audio = ulaw(tmp_path / "seat.ulaw", tone(SEAT_HZ, 4.0))
    with (
        serve(receiver, free_udp_port()) as url,
        Sipp("uas_no_answer.xml", workdir("seat1"), wav=_quiet(tmp_path)) as silent,
        Sipp("uas_answer_bye.xml", workdir("seat2"), wav=seat_audio) as answering,
        Baresip(tmp_path, silence, user=PHONE) as customer,
    ):
        first, second = silent.uri_for("seat1"), answering.uri_for("seat2")
        _campaign(factory, url, [first, second])
        with _worker(tmp_path, db_url, customer) as log:
            attempt = _finished(factory, log)
        sender = WebhookSender(factory, policy=LOCAL_RECEIVERS)
        try:
            sender.deliver_due()
        finally:
            sender.close()
        time.sleep(0.5)  # baresip closes its recording after the BYE
        heard = [path for path in customer.recordings() if path.name.endswith("-dec.wav")]
    legs = _legs(factory)
    assert [(leg.seat_uri, leg.answered) for leg in legs] == [(first, False), (second, True)], legs
    assert legs[0].ring_ms is not None and legs[0].ring_ms >= 3500  # rang its seat_ring_s, then CANCEL
    assert legs[1].talk_s is not None and legs[1].talk_s > 0 and legs[1].hangup_by == "seat"
    view = AttemptView.from_row(attempt)
    assert (view.transfer_seat_uri, view.transfer_seats_tried, view.transfer_answered) == (second, 2, True)
    assert view.transfer_hangup_by == "seat" and view.transfer_talk_s and view.transfer_ring_ms
    assert _seats_free(factory)
    # The callee heard the hold music while seat 1 rang, then the seat (1.2 kHz), never silence between.
    pcm, (start, end) = _heard_hold(heard, customer)
    assert _longest_silence(pcm, start, end) < 8  # a pause between words at most, never a dead line
    after = pcm[end * WINDOW :]
    assert abs(dominant_hz(after[: 8000 * 2]) - SEAT_HZ) < 25  # then the second seat's voice
    # seat.offered: signed, one per seat rung, with the summary, the attempt and the seat.
    offered = []
    for headers, body in receiver.received:
        assert verify_signature(headers[SIGNATURE_HEADER], body, SECRET)
        envelope = json.loads(body)
        if envelope["type"] == "seat.offered":
            offered.append(envelope["data"])
    assert [event["seat"]["uri"] for event in offered] == [first, second], offered
    assert all(event["attempt_id"] == attempt.id and event["reference_id"] == "r1" for event in offered)
    assert offered[1]["summary"]["name"] == "张先生" and offered[1]["position"] == 2


def test_every_seat_failing_plays_the_on_failed_node(tmp_path: Path, workdir: Callable[[str], Path]) -> None:
    """Seat 1 never answers, seat 2 is busy (486): after max_seats the flow's on_failed node speaks."""
    db_url = f"sqlite:///{tmp_path / 'seats.db'}"
    _engine, factory = open_database(db_url)
    silence = write_pcm_wav(tmp_path / "silence.wav", bytes(8000 * 2 * 40))
    with (
        Sipp("uas_no_answer.xml", workdir("seat1"), wav=_quiet(tmp_path)) as silent,
        Sipp("uas_reject_486.xml", workdir("seat2"), wav=_quiet(tmp_path)) as busy,
        Baresip(tmp_path, silence, user=PHONE) as customer,
    ):
        first, second = silent.uri_for("seat1"), busy.uri_for("seat2")
        _campaign(factory, None, [first, second])
        with _worker(tmp_path, db_url, customer) as log:
            attempt = _finished(factory, log)
        time.sleep(0.5)  # baresip closes its recording after the BYE
        heard = [path for path in customer.recordings() if path.name.endswith("-dec.wav")]
    legs = _legs(factory)
    assert [(leg.seat_uri, leg.answered, leg.sip_code) for leg in legs] == [
        (first, False, 487),
        (second, False, 486),
    ], legs
    assert (attempt.transfer_answered, attempt.transfer_seats_tried) == (False, 2)
    assert attempt.transfer_talk_s is None and attempt.transfer_hangup_by is None
    # The on_failed node ran to its end (a failure without on_failed hangs up "transfer_failed:…").
    assert "transfer_failed" in attempt.tags
    assert (attempt.hangup_by, attempt.hangup_reason) == ("robot", "flow_end")
    assert _seats_free(factory)
    pcm, (_start, end) = _heard_hold(heard, customer)
    spoken = [rms(pcm[i * WINDOW : (i + 1) * WINDOW]) > 300 for i in range(end, len(pcm) // WINDOW)]
    assert sum(spoken) >= 10, "the on_failed node's prompt did not reach the customer after the hold"


def test_two_concurrent_transfers_never_ring_the_same_seat(
    tmp_path: Path, workdir: Callable[[str], Path]
) -> None:
    """Two calls on one worker transfer at about the same time; both seats ring 2.5 s before answering.
    Longest-idle prefers seat A for both (B was idle only just now): the call that comes second must
    get B, at the first try, because A is busy (ringing or talking) with the first call."""
    db_url = f"sqlite:///{tmp_path / 'seats.db'}"
    _engine, factory = open_database(db_url)
    silence = write_pcm_wav(tmp_path / "silence.wav", bytes(8000 * 2 * 40))
    seat_audio = ulaw(tmp_path / "seat.ulaw", tone(SEAT_HZ, 4.0))
    flow = FLOW.replace("max_seats: 2,", "max_seats: 2, strategy: longest_idle,")
    second_phone = "13800003102"
    with (
        Sipp("uas_seat_ring_answer.xml", workdir("seatA"), wav=seat_audio) as seat_a,
        Sipp("uas_seat_ring_answer.xml", workdir("seatB"), wav=seat_audio) as seat_b,
        Baresip(tmp_path, silence, user=PHONE) as one,
        Baresip(tmp_path, silence, user=second_phone) as two,
    ):
        a, b = seat_a.uri_for("seatA"), seat_b.uri_for("seatB")
        _campaign(factory, None, [a, b], phones=(PHONE, second_phone), flow=flow)
        with factory() as session:
            seat = session.scalars(select(Seat).where(Seat.uri == b)).one()
            seat.last_idle_at = utcnow()
            session.commit()
        with _worker(tmp_path, db_url, one, two) as log:
            _finished(factory, log, count=2)
    legs = _legs(factory)
    with factory() as session:
        attempts = list(session.scalars(select(Attempt)))
    assert sorted((leg.seat_uri, leg.position, leg.answered) for leg in legs) == [
        (a, 1, True),
        (b, 1, True),
    ], [(leg.attempt_id, leg.seat_uri, leg.position, leg.answered, leg.sip_code) for leg in legs]
    assert {attempt.transfer_seat_uri for attempt in attempts} == {a, b}
    assert all(attempt.transfer_answered for attempt in attempts) and _seats_free(factory)


def test_a_callee_hanging_up_while_a_seat_rings_cancels_it(
    tmp_path: Path, workdir: Callable[[str], Path]
) -> None:
    """The callee gives up during the hold: the ringing seat gets a CANCEL at once (no other seat is
    rung), the seat is free again and the record says nobody answered."""
    db_url = f"sqlite:///{tmp_path / 'seats.db'}"
    _engine, factory = open_database(db_url)
    flow = FLOW.replace("seat_ring_s: 4", "seat_ring_s: 30")
    with (
        Sipp("uas_answer_hangup_later.xml", workdir("callee"), wav=_quiet(tmp_path)) as callee,
        Sipp("uas_no_answer.xml", workdir("seat1"), wav=_quiet(tmp_path)) as silent,
        Sipp("uas_seat.xml", workdir("seat2"), wav=_quiet(tmp_path)) as never_rung,
    ):
        first, second = silent.uri_for("seat1"), never_rung.uri_for("seat2")
        _campaign(factory, None, [first, second], flow=flow)
        with _worker(tmp_path, db_url, routes={PHONE: callee.uri}) as log:
            attempt = _finished(factory, log)
        cancelled = silent.wait(10)
    legs = _legs(factory)
    assert [(leg.seat_uri, leg.answered, leg.reason) for leg in legs] == [
        (first, False, "callee hung up while the seat rang")
    ], legs
    assert cancelled == 0, silent.out_file.read_text(errors="replace")[-2000:]  # got its CANCEL
    assert legs[0].ring_ms is not None and legs[0].ring_ms < 30_000  # not rung to its timeout
    assert (attempt.hangup_by, attempt.transfer_answered, attempt.transfer_seats_tried) == (
        "callee",
        False,
        1,
    )
    assert _seats_free(factory)
