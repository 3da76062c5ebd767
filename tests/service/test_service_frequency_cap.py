"""The per-phone frequency cap across campaigns, over real HTTP (SQLite), and under concurrent claimers
in several worker processes (PostgreSQL and SQLite)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.service.helpers import Server, make_campaign, run_server
from tests.service.rules_helpers import (
    SHANGHAI,
    answered,
    claim,
    db,
    finish,
    future_monday,
    import_phones,
    new_campaign,
    strategy_keys,
    upload_flow,
)
from waihu.call_record import CallRecord
from waihu.service.db import make_engine, make_session_factory, open_database
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Attempt, Contact, WebhookEvent
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.settings import Settings
from waihu_env import reload_environment

CAP_1 = {"max_answered": 1, "days": 7}
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose default cap is 2 answered calls per phone per 7 days."""
    db_file = tmp_path_factory.mktemp("cap") / "waihu.db"
    settings = Settings(
        database_url=f"sqlite:///{db_file}",
        background=False,
        webhook_allow_http=True,
        webhook_allow=("127.0.0.1",),
        frequency_cap=(2, 7),
    )
    with run_server(settings) as running:
        yield running


def test_the_cap_defers_then_allows_and_ends_with_a_clear_outcome(capped_server: Server) -> None:
    server = capped_server
    upload_flow(server, "bank")
    upload_flow(server, "insurer")
    key, other_tenant = strategy_keys(server, "bank"), strategy_keys(server, "insurer")
    factory = db(server)
    now = future_monday()
    phone = "13900005001"
    with server.client(key) as client:
        default = new_campaign(client)
        assert default["frequency_cap"] == {"max_answered": 2, "days": 7}  # the server's default
        assert new_campaign(client, frequency_cap=None)["frequency_cap"] is None  # null: no cap
        refused = client.post(
            "/v1/campaigns", json={"name": "x", "flow_id": "mini", "frequency_cap": {"max_answered": 0}}
        )
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "frequency_cap", "max_answered"]
        first = new_campaign(client, frequency_cap=CAP_1)["id"]
        second = new_campaign(client, frequency_cap=CAP_1)["id"]
        ending = new_campaign(
            client,
            frequency_cap=CAP_1,
            webhook_url=HOOK,
            not_after=(now.astimezone(SHANGHAI).date() + dt.timedelta(days=2)).isoformat(),
        )["id"]
        uncapped = new_campaign(client, frequency_cap=None)["id"]
        for campaign_id in (first, second, ending, uncapped):
            import_phones(client, campaign_id, {"x": phone})
    with server.client(other_tenant) as client:
        elsewhere = new_campaign(client, frequency_cap=CAP_1)["id"]
        import_phones(client, elsewhere, {"x": phone})

    (call,) = claim(factory, first, now)
    finish(factory, call.attempt_id, answered(), now)  # answered at now - 1 min
    answered_at = now - dt.timedelta(minutes=1)
    later = now + dt.timedelta(hours=1)
    assert claim(factory, second, later) == []  # capped: deferred, not failed
    with server.client(key) as client:
        deferred = client.get(f"/v1/campaigns/{second}/contacts/x").json()
        assert deferred["state"] == "pending" and deferred["final_outcome"] is None
        due = dt.datetime.fromisoformat(deferred["next_attempt_at"])
        assert due == answered_at + dt.timedelta(days=7)  # when the answered call leaves the 7 days
    assert claim(factory, second, due - dt.timedelta(seconds=1)) == []
    assert [c.reference_id for c in claim(factory, second, due)] == ["x"]
    # no window before the campaign's end: a final, clear outcome and its webhook
    assert claim(factory, ending, later) == []
    with server.client(key) as client:
        ended = client.get(f"/v1/campaigns/{ending}/contacts/x").json()
        assert (ended["state"], ended["final_outcome"]) == ("done", "frequency_capped")
        assert client.get(f"/v1/campaigns/{ending}").json()["state"] == "succeeded"
    with factory() as session:
        (event,) = session.scalars(
            select(WebhookEvent).where(
                WebhookEvent.campaign_id == ending, WebhookEvent.type == "contact.finished"
            )
        )
        assert event.payload["final_outcome"] == "frequency_capped"
    # a campaign without a cap, and another tenant's campaign, are not held back
    assert len(claim(factory, uncapped, later)) == 1
    assert len(claim(factory, elsewhere, later)) == 1


def test_a_call_in_progress_counts_and_patch_changes_the_cap(capped_server: Server) -> None:
    server = capped_server
    upload_flow(server, "bank")
    key = strategy_keys(server, "bank")
    factory = db(server)
    now = future_monday(weeks=3)
    phone = "13900006001"
    with server.client(key) as client:
        one = new_campaign(client, frequency_cap=CAP_1)["id"]
        two = new_campaign(client, frequency_cap=None)["id"]
        for campaign_id in (one, two):
            import_phones(client, campaign_id, {"y": phone})
        (ringing,) = claim(factory, two, now)  # dialling, not answered yet: no cap on this campaign
        assert claim(factory, one, now) == []  # but it counts against the capped campaign
        deferred = client.get(f"/v1/campaigns/{one}/contacts/y").json()
        assert dt.datetime.fromisoformat(deferred["next_attempt_at"]) == now + dt.timedelta(minutes=15)
        finish(factory, ringing.attempt_id, CallRecord(outcome="no_answer", sip_code=480), now)
        # raise the cap: PATCH applies at the next claim
        raised = client.patch(f"/v1/campaigns/{one}", json={"frequency_cap": {"max_answered": 3, "days": 1}})
        assert raised.status_code == 200 and raised.json()["frequency_cap"] == {"max_answered": 3, "days": 1}
        bad = client.patch(f"/v1/campaigns/{one}", json={"frequency_cap": {"max_answered": 2, "days": 0}})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "frequency_cap", "days"]
    assert len(claim(factory, one, now + dt.timedelta(minutes=15))) == 1


# --- concurrent claimers in several processes -------------------------------------------------------

PHONES = 12
CAMPAIGNS = 4
WORKERS = 4  # one per campaign: claims in different campaigns do not wait for each other's row lock
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in Shanghai


def _claimer(url: str, name: str, campaign_ids: list[int], barrier: Any, out: Any) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    calls = 0
    try:
        for _round in range(PHONES):  # a claim takes up to 3 calls and defers every capped phone it meets
            barrier.wait(timeout=300)  # everybody claims at the same moment
            with factory() as session:
                got = claim_due_contacts(session, name, NOW, 3, campaign_ids=campaign_ids)
            for one in got:  # every call is answered
                result = CallRecord(outcome="answered", sip_code=200, answer_at=NOW)
                with factory() as session:
                    record_result(session, one.attempt_id, result, NOW)
            calls += len(got)
        out.put((name, calls, ""))
    except BaseException as exc:  # reported to the parent
        out.put((name, calls, repr(exc)))
        barrier.abort()
    finally:
        engine.dispose()


def _run(url: str) -> None:
    engine, factory = open_database(url)
    campaign_ids = []
    with factory() as session:
        for _ in range(CAMPAIGNS):
            campaign = make_campaign(session, frequency_cap=CAP_1, concurrency=100, retry_policy={})
            rows = [
                RawRow(i + 1, {"reference_id": f"r{i}", "phone": f"1380077{i:04d}"}) for i in range(PHONES)
            ]
            import_contacts(session, campaign.id, rows, now=NOW - dt.timedelta(days=1))
            session.commit()
            campaign_ids.append(campaign.id)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    out = context.Queue()
    processes = [
        context.Process(target=_claimer, args=(url, f"w{i}", [campaign_ids[i % CAMPAIGNS]], barrier, out))
        for i in range(WORKERS)
    ]
    for process in processes:
        process.start()
    reports = [out.get(timeout=900) for _ in range(WORKERS)]  # the machine may be busy
    for process in processes:
        process.join(timeout=60)
    assert [error for _name, _calls, error in reports if error] == []
    with factory() as session:
        per_phone = dict(
            session.execute(
                select(Attempt.phone, func.count())
                .where(Attempt.answer_at.is_not(None))
                .group_by(Attempt.phone)
            ).all()
        )
        pending = session.scalar(select(func.count()).select_from(Contact).where(Contact.state == "pending"))
        detail = [
            (a.phone, a.campaign_id, a.claimed_by, a.number, a.status, a.outcome)
            for a in session.scalars(select(Attempt).order_by(Attempt.phone))
        ]
    engine.dispose()
    assert len(per_phone) == PHONES, detail  # every phone was called
    assert max(per_phone.values()) == 1, detail  # and answered only once across the campaigns
    assert pending == PHONES * (CAMPAIGNS - 1)  # the others wait for the cap, deferred not failed


def test_the_cap_holds_with_worker_processes_on_postgres(pg_url: str) -> None:
    _run(pg_url)


def test_the_cap_holds_with_worker_processes_on_sqlite(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path / 'waihu.db'}")


def test_the_import_says_which_rows_were_merged(capped_server: Server) -> None:
    server = capped_server
    upload_flow(server, "bank")
    with server.client(strategy_keys(server, "bank")) as client:
        cid = new_campaign(client)["id"]
        import_phones(client, cid, {"first": "13900009001"})
        rows = [
            {"reference_id": "again", "phone": "+86 139 0000 9001"},
            {"reference_id": "new", "phone": "13900009002"},
            {"reference_id": "new-twice", "phone": "139-0000-9002"},
        ]
        report = client.post(f"/v1/campaigns/{cid}/contacts", json=rows).json()
    assert report["created"] == 1
    assert report["merged"] == [
        {"row": 1, "reference_id": "again", "merged_into": "first"},
        {"row": 3, "reference_id": "new-twice", "merged_into": "new"},
    ]
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(1, "phone"), (3, "phone")]


def test_the_server_default_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(value: str) -> tuple[int, int] | None:
        monkeypatch.setenv("WAIHU_FREQUENCY_CAP", value)
        reload_environment()  # the environment is read once per process
        return Settings.from_env().frequency_cap

    try:
        assert read("2/7d") == (2, 7)
        assert read("off") is None
        for bad in ("2", "two/7d", "0/7d", "2/400d"):
            with pytest.raises(ValueError, match="WAIHU_FREQUENCY_CAP"):
                read(bad)
    finally:
        monkeypatch.delenv("WAIHU_FREQUENCY_CAP")
        reload_environment()
