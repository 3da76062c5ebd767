"""The big screen (大屏): its snapshot on a real SQLite DB, and its SSE stream over real HTTP."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import Server, add_contacts, make_campaign
from waihu.console.api_screen import MAX_STREAMS_PER_KEY
from waihu.console.screen import CPM_MINUTES, screen_snapshot
from waihu.service.apikeys import create_api_key
from waihu.service.models import Attempt, Contact

NOW = dt.datetime(2026, 11, 23, 2, 30, 20, tzinfo=dt.UTC)
_ids = count(1)


def attempt(session: Session, campaign_id: int, **fields: Any) -> Attempt:
    """A stored attempt of the campaign's first contact (finished unless ``status`` says otherwise)."""
    contact = session.query(Contact).filter_by(campaign_id=campaign_id).first()
    assert contact is not None
    values: dict[str, Any] = {
        "id": f"att{next(_ids)}",
        "contact_id": contact.id,
        "campaign_id": campaign_id,
        "number": session.query(Attempt).filter_by(contact_id=contact.id).count() + 1,
        "phone": contact.phone,
        "flow_id": "mini",
        "flow_version": 1,
        "status": "finished",
        "claimed_by": "test",
        "claimed_at": NOW - dt.timedelta(minutes=5),
        "lease_until": NOW + dt.timedelta(minutes=5),
        "end_at": NOW - dt.timedelta(minutes=1),
    }
    values.update(fields)
    row = Attempt(**values)
    session.add(row)
    session.commit()
    return row


def turn(intent: str, latency_ms: float | None = None) -> dict[str, Any]:
    """A transcript turn as ``CallResult.trace`` stores it."""
    return {"kind": "utterance", "intent": intent, "latency_ms": latency_ms}


def test_snapshot_counts_running_campaigns_of_the_tenant_only(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        running = make_campaign(session, name="running")
        paused = make_campaign(session, name="paused", state="paused")
        other = make_campaign(session, name="other tenant", tenant="bank2")
        for campaign in (running, paused, other):
            add_contacts(session, campaign.id, 1)
        answered = {"outcome": "answered", "hangup_by": "callee"}
        attempt(
            session,
            running.id,
            grade="A",
            **answered | {"hangup_by": "seat", "transfer_answered": True},
            transcript=[turn("affirm", 600), turn("faq:fee", 800), turn("affirm", 700)],
            kb_hits=["fee"],
            end_at=NOW - dt.timedelta(seconds=5),
        )
        attempt(session, running.id, grade="D", **answered, transcript=[turn("deny"), turn("faq:fee")])
        attempt(session, running.id, outcome="no_answer", end_at=NOW - dt.timedelta(minutes=20))
        attempt(session, running.id, status="in_call", end_at=None)
        attempt(session, running.id, status="dialling", end_at=None)
        for campaign in (paused, other):  # neither counts: not running / not this tenant
            attempt(session, campaign.id, grade="A", **answered, transcript=[turn("other")])
            attempt(session, campaign.id, status="in_call", end_at=None)

        snap = screen_snapshot(session, "default", NOW)

    assert [c.name for c in snap.campaigns] == ["running"]
    assert snap.in_progress == 2 and snap.campaigns[0].in_progress == 2
    assert (snap.finished, snap.answered, snap.transfers) == (3, 2, 1)
    assert snap.answer_rate == pytest.approx(2 / 3, abs=1e-4)
    assert [(g.name, g.count) for g in snap.grades] == [("A", 1), ("D", 1)]
    assert [(i.name, i.count) for i in snap.top_intents] == [("affirm", 2), ("deny", 1)]
    assert [(f.name, f.count) for f in snap.faq_hits] == [("faq:fee", 2), ("kb:fee", 1)]
    assert snap.recent_calls == 3
    assert snap.latency.available and snap.latency.samples == 3
    assert snap.latency.mean_ms == 700.0 and snap.latency.p90_ms == 800.0
    # Calls per minute: 15 one-minute buckets ending with the current minute; the 20-minute-old call
    # is outside, the two recent ones land in the minute they ended in.
    minutes = snap.calls_per_minute
    assert len(minutes) == CPM_MINUTES
    assert minutes[-1].minute == "2026-11-23T02:30:00Z" and minutes[-1].count == 1
    assert minutes[-2].minute == "2026-11-23T02:29:00Z" and minutes[-2].count == 1
    assert sum(m.count for m in minutes) == 2


def test_snapshot_without_calls_or_latency(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        empty = screen_snapshot(session, "default", NOW)
        assert empty.campaigns == [] and empty.finished == 0 and empty.answer_rate is None
        assert not empty.latency.available and empty.latency.mean_ms is None
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 1)
        attempt(session, campaign.id, outcome="answered", transcript=[turn("affirm")])
        snap = screen_snapshot(session, "default", NOW)
    assert snap.answer_rate == 1.0 and not snap.latency.available  # results without measured latency


# ---- over real HTTP -------------------------------------------------------------------------------


@pytest.fixture
def strategy_key(server: Server) -> Iterator[str]:
    """A fresh strategy key (its own stream slots) on the shared server."""
    with server.client() as admin:
        yield admin.post("/v1/keys", json={"name": "wall screen", "role": "strategy"}).json()["key"]


def read_event(lines: Iterator[str]) -> dict[str, Any]:
    """The next ``snapshot`` event from the lines of an open SSE response.

    Callers keep one ``response.iter_lines()`` per response: dropping that iterator closes the stream.
    """
    frame: list[str] = []
    for line in lines:
        if line:
            frame.append(line)
            continue
        if "event: snapshot" in frame:
            return json.loads("".join(x[len("data: ") :] for x in frame if x.startswith("data: ")))
        frame = []
    raise AssertionError("stream ended without a snapshot")


def wait_until(check: Any, what: str, limit_s: float = 20.0) -> None:
    """Poll ``check()`` until true (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_stream_pushes_snapshots_and_caps_streams_per_key(server: Server, strategy_key: str) -> None:
    with server.client(strategy_key) as client:
        plain = client.get("/console/api/screen")
        assert plain.status_code == 200 and "calls_per_minute" in plain.json()
        streams: list[tuple[httpx.Response, Iterator[str]]] = []
        try:
            for _ in range(MAX_STREAMS_PER_KEY):
                response = client.send(client.build_request("GET", "/console/api/screen/stream"), stream=True)
                streams.append((response, response.iter_lines()))
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                assert "in_progress" in read_event(streams[-1][1])
            refused = client.get("/console/api/screen/stream")
            assert refused.status_code == 429 and "at most 3" in refused.json()["detail"]
        finally:
            for response, _lines in streams:
                response.close()
        slots = server.app.state.screen_streams
        # The server notices the disconnects and gives the slots back: a new stream is admitted.
        wait_until(lambda: slots.open(_key_id(strategy_key)) == 0, "slots not released after disconnect")
        with client.stream("GET", "/console/api/screen/stream", params={"interval_s": 0.5}) as again:
            lines = again.iter_lines()
            first, second = read_event(lines), read_event(lines)
            assert first["generated_at"] <= second["generated_at"]


def test_stream_ends_by_itself_and_checks_its_input(server: Server, strategy_key: str) -> None:
    with server.client(strategy_key) as client:
        ends = {"max_seconds": 1, "interval_s": 0.5}  # the shortest stream the limits allow
        with client.stream("GET", "/console/api/screen/stream", params=ends) as response:
            body = "".join(response.iter_text())  # returns: the server closed the stream
        assert "event: snapshot" in body
        bad = client.get("/console/api/screen/stream", params={"interval_s": 0})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "interval_s"]
    with server.client("whk_nobody.secret") as anonymous:
        assert anonymous.get("/console/api/screen/stream").status_code == 401


def test_operator_may_not_watch(server: Server) -> None:
    with server.app.state.service.factory() as session:
        _row, operator = create_api_key(session, "flow author", "operator")
        session.commit()
    with server.client(operator) as client:
        assert client.get("/console/api/screen/stream").status_code == 403


def _key_id(token: str) -> str:
    return token.removeprefix("whk_").split(".", 1)[0]
