"""Seat claims through SQLAlchemy on SQLite: race-free, strategies, freed seats, the transfer record.

The SIP side (seats rung in turn, hold audio, the webhook) is in tests/telephony/test_seat_routing.py;
here the database alone: many threads claiming at once, the order of the strategies, a dead worker's seat,
and the record a call leaves as the API and the dashboard show it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import MONDAY_10_SHANGHAI, Server, add_contacts, make_campaign
from tests.service.rules_helpers import new_campaign, strategy_keys, upload_flow
from waihu.call_record import CallRecord
from waihu.calls.seats import DatabaseSeats, seat_group
from waihu.console.stats import campaign_stats
from waihu.service.models import Attempt, Campaign, Seat, Transfer, utcnow
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.seats import claim_seat, release_seat
from waihu.voice.seat_transfer import SeatLeg, SeatOffer

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def _seats(
    factory: sessionmaker[Session], count: int, group: str = "sales", tenant: str = "default"
) -> list[int]:
    with factory() as session:
        seats = [
            Seat(tenant=tenant, uri=f"sip:{group}{i}@127.0.0.1", skill_group=group, available=True)
            for i in range(count)
        ]
        session.add_all(seats)
        session.commit()
        return [seat.id for seat in seats]


def _calls(factory: sessionmaker[Session], count: int) -> list[str]:
    """``count`` attempts in progress (a seat is held by a live call only)."""
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, count)
        return [claim.attempt_id for claim in claim_due_contacts(session, "w1", MONDAY_10_SHANGHAI, count)]


def race_for_seats(factory: sessionmaker[Session], rounds: int = 10) -> None:
    """Eight calls on eight threads (own sessions, as on eight workers) claim three seats at once,
    ``rounds`` times: each round exactly three win, each a different seat; the others get none."""
    ids = _seats(factory, 3)
    calls = _calls(factory, 8)
    for _round in range(rounds):
        start = threading.Barrier(8)
        won: list[tuple[str, int]] = []
        lock = threading.Lock()

        def call(
            n: int,
            start: threading.Barrier = start,
            won: list[tuple[str, int]] = won,
            lock: threading.Lock = lock,
        ) -> None:
            with factory() as session:
                start.wait()
                seat = claim_seat(session, "default", "sales", calls[n])
            if seat is not None:
                with lock:
                    won.append((calls[n], seat.id))

        threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(seat_id for _attempt, seat_id in won) == ids, won
        with factory() as session:
            holders = {seat.id: seat.busy_attempt for seat in session.scalars(select(Seat))}
            assert holders == {seat_id: attempt for attempt, seat_id in won}  # the winner holds it
            for attempt, seat_id in won:
                assert release_seat(session, seat_id, attempt)


def test_concurrent_claims_never_share_a_seat(factory: sessionmaker[Session]) -> None:
    race_for_seats(factory)


def test_round_robin_and_longest_idle(factory: sessionmaker[Session]) -> None:
    """Round robin rings the seat offered least recently; longest idle the one free the longest."""
    first, second, third = _seats(factory, 3)
    a, b, c, d, e, f = _calls(factory, 6)
    with factory() as session:
        picks = []
        for n in range(4):
            seat = claim_seat(session, "default", "sales", a, now=T0 + dt.timedelta(seconds=n))
            assert seat is not None
            picks.append(seat.id)
            release_seat(session, seat.id, a, T0 + dt.timedelta(seconds=n))
        assert picks == [first, second, third, first]
        # Idle since: first at t+3, second at t+1, third at t+2 → the second has waited longest.
        seat = claim_seat(session, "default", "sales", b, strategy="longest_idle", now=T0 + dt.timedelta(60))
        assert seat is not None and seat.id == second
        # The seat on a call is skipped, so are the ones already tried for this call.
        seat = claim_seat(session, "default", "sales", c, strategy="longest_idle", exclude={third})
        assert seat is not None and seat.id == first
        assert claim_seat(session, "default", "sales", d) is not None  # third, the last free one
        assert claim_seat(session, "default", "sales", e) is None
        assert claim_seat(session, "other-tenant", "sales", f) is None  # never another tenant's


def test_a_seat_held_by_a_call_that_is_over_is_free_again(factory: sessionmaker[Session]) -> None:
    """A worker that died mid-transfer leaves its seat busy: once the attempt is no longer in progress
    (recovered as lost, or finished) the seat is claimable; while it is in progress it is not."""
    (seat_id,) = _seats(factory, 1)
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1)
        (claim,) = claim_due_contacts(session, "w1", MONDAY_10_SHANGHAI, 1)
        assert claim_seat(session, "default", "sales", claim.attempt_id) is not None
        assert claim_seat(session, "default", "sales", "another call") is None  # the call is live
        assert not release_seat(session, seat_id, "another call")  # only the holder frees it
        record_result(session, claim.attempt_id, CallRecord(outcome="answered"), MONDAY_10_SHANGHAI)
        seat = claim_seat(session, "default", "sales", "another call")
        assert seat is not None and seat.busy_attempt == "another call"


def test_the_campaign_overrides_the_flows_seat_group(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        plain = make_campaign(session)
        vip = make_campaign(session, seat_group="vip")
        assert seat_group(session, plain.id, "sales") == "sales"
        assert seat_group(session, vip.id, "sales") == "vip"


def _transferred_call(factory: sessionmaker[Session], *, answered: bool) -> str:
    """A finished call whose transfer rang a silent seat, then (``answered``) one that talked 42 s."""
    first, second = _seats(factory, 2, group=f"g{answered}")
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1)
        (claim,) = claim_due_contacts(session, "w1", MONDAY_10_SHANGHAI, 1)
    seats = DatabaseSeats(factory, "default", f"g{answered}", claim.attempt_id, claim.campaign_id)
    legs: list[SeatLeg] = []
    for position in (1, 2):
        offer = seats.next_seat(legs)
        assert offer is not None and offer.seat_id == (first, second)[position - 1]
        at = time.time()
        leg = SeatLeg(offer, position, at, ring_at=at + 0.1)
        legs.append(leg)
        if position == 1 or not answered:
            leg.end_at, leg.sip_code, leg.reason = at + 15, 487, "Request Terminated"
            seats.leg_over(leg)
        else:
            leg.answered, leg.answer_at, leg.end_at, leg.hangup_by = True, at + 3, at + 45, "callee"
    seats.finish(legs)
    with factory() as session:
        record_result(session, claim.attempt_id, CallRecord(outcome="answered"), MONDAY_10_SHANGHAI)
        assert not any(seat.busy for seat in session.scalars(select(Seat)))
    return claim.attempt_id


def test_the_transfer_record_in_the_results_api_and_the_dashboard(server: Server) -> None:
    """Over real HTTP: the result shows the seat that answered, the seats tried, the ring and talk time
    and who hung up; the dashboard's "transferred" counts the calls a seat took."""
    factory = server.app.state.service.factory
    taken = _transferred_call(factory, answered=True)
    failed = _transferred_call(factory, answered=False)
    with server.client() as admin:
        result = admin.get(f"/v1/results/{taken}").json()
        other = admin.get(f"/v1/results/{failed}").json()
    assert result["transfer_answered"] is True and result["transfer_seats_tried"] == 2
    assert result["transfer_seat_uri"] == "sip:gTrue1@127.0.0.1"
    assert result["transfer_talk_s"] == 42.0 and result["transfer_hangup_by"] == "callee"
    assert result["transfer_ring_ms"] == 15000 + 3000
    assert (other["transfer_answered"], other["transfer_talk_s"], other["transfer_seats_tried"]) == (
        False,
        None,
        2,
    )
    with factory() as session:
        rows = session.scalars(
            select(Transfer).where(Transfer.attempt_id == taken).order_by(Transfer.position)
        )
        assert [(row.answered, row.ring_ms, row.talk_s) for row in rows] == [
            (False, 15000, None),
            (True, 3000, 42.0),
        ]
        for attempt_id, expected in ((taken, 1), (failed, 0)):
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            campaign = session.get(Campaign, attempt.campaign_id)
            assert campaign is not None
            funnel = {row["stage"]: row["count"] for row in campaign_stats(session, campaign)["funnel"]}
            assert funnel["transferred"] == expected


def test_fixed_seat_offer_is_recorded_without_a_seat_row(factory: sessionmaker[Session]) -> None:
    """The worker's --seat fallback (no registered seat in the group) is rung once and recorded."""
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1)
        (claim,) = claim_due_contacts(session, "w1", MONDAY_10_SHANGHAI, 1)
    seats = DatabaseSeats(
        factory, "default", "nobody", claim.attempt_id, claim.campaign_id, fallback_uri="sip:desk@127.0.0.1"
    )
    offer = seats.next_seat([])
    assert offer == SeatOffer("sip:desk@127.0.0.1")
    leg = SeatLeg(offer, 1, time.time())
    assert seats.next_seat([leg]) is None
    leg.end_at, leg.sip_code = leg.offered_at + 1, 486
    seats.finish([leg])
    with factory() as session:
        row = session.scalars(select(Transfer)).one()
        assert (row.seat_id, row.seat_uri, row.answered, row.sip_code) == (
            None,
            "sip:desk@127.0.0.1",
            False,
            486,
        )
        assert utcnow() - row.offered_at < dt.timedelta(minutes=1)


def test_a_campaign_names_its_seat_group_over_the_api(server: Server) -> None:
    """``seat_group`` on create and PATCH (null: back to the flow's group); a bad one names the field."""
    upload_flow(server, "seats-co")
    with server.client(strategy_keys(server, "seats-co")) as client:
        campaign = new_campaign(client, seat_group="vip")
        assert campaign["seat_group"] == "vip"
        cleared = client.patch(f"/v1/campaigns/{campaign['id']}", json={"seat_group": None})
        assert cleared.status_code == 200 and cleared.json()["seat_group"] is None, cleared.text
        bad = client.patch(f"/v1/campaigns/{campaign['id']}", json={"seat_group": ""})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "seat_group"]
