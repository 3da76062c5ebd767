"""PATCH /v1/campaigns/{id}, cancelling one contact and holiday calendars, over real HTTP (SQLite)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.service.helpers import Server
from tests.service.rules_helpers import (
    SHANGHAI,
    admin_key,
    claim,
    db,
    future_monday,
    import_phones,
    new_campaign,
    strategy_keys,
    upload_flow,
)
from waihu.call_record import CallRecord
from waihu.service.expiry import expire_overdue
from waihu.service.models import WebhookEvent
from waihu.service.scheduler import record_result

HOOK = "http://127.0.0.1:9/hook"


def test_patch_is_applied_at_the_next_claim_validated_audited_and_scoped(server: Server) -> None:
    upload_flow(server, "bank")
    key, admin = strategy_keys(server, "bank"), admin_key(server, "bank")
    outsider = strategy_keys(server, "other-bank")
    factory = db(server)
    now = future_monday()
    with server.client(key) as client:
        campaign = new_campaign(client, concurrency=1)
        cid = campaign["id"]
        import_phones(client, cid, {f"p{i}": f"1380000100{i}" for i in range(8)})
        assert len(claim(factory, cid, now)) == 1  # concurrency 1
        changed = client.patch(f"/v1/campaigns/{cid}", json={"concurrency": 3, "priority": 7})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["concurrency"], changed.json()["priority"]) == (3, 7)
        assert len(claim(factory, cid, now)) == 2  # the next claim sees the new line limit
        # exact start time: nothing is dialled before it, and it is dialled from it on
        start = (now + dt.timedelta(days=1)).isoformat()
        assert (
            client.patch(f"/v1/campaigns/{cid}", json={"start_at": start, "concurrency": 6}).status_code
            == 200
        )
        assert claim(factory, cid, now) == []
        assert len(claim(factory, cid, now + dt.timedelta(days=1))) == 3
        # windows: a window that is closed at that time stops dialling
        later = now + dt.timedelta(days=1, hours=1)
        closed = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "20:00", "end": "21:00"}]
        assert client.patch(f"/v1/campaigns/{cid}", json={"windows": closed}).status_code == 200
        assert client.get(f"/v1/campaigns/{cid}").json()["windows"] == closed
        assert claim(factory, cid, later) == []  # two contacts still pending, but the window is closed

        # validation: 422 naming the field
        for body, loc in (
            ({"concurrency": 0}, ["body", "concurrency"]),
            ({"concurrency": None}, ["body", "concurrency"]),
            ({"windows": []}, ["body", "windows"]),
            ({"flow_id": "other"}, ["body", "flow_id"]),
            ({"priority": 5000}, ["body", "priority"]),
            ({"stop_at": now.isoformat()}, ["body", "stop_at"]),  # before start_at
            ({"start_at": "2026-12-01T09:00:00"}, ["body", "start_at"]),  # no UTC offset
            ({"not_before": "2027-02-01", "not_after": "2027-01-01"}, ["body", "not_after"]),
            ({"webhook_url": "http://10.1.2.3/hook"}, ["body", "webhook_url"]),  # private address
            ({"holidays": ["2026-13-01"]}, ["body", "holidays", 0]),
        ):
            refused = client.patch(f"/v1/campaigns/{cid}", json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["detail"][0]["loc"][: len(loc)] == loc, (body, refused.json())
        # a campaign without a webhook gets a secret, shown once
        hooked = client.patch(f"/v1/campaigns/{cid}", json={"webhook_url": HOOK})
        assert hooked.status_code == 200 and len(hooked.json()["webhook_secret"]) >= 32
        assert "webhook_secret" not in client.get(f"/v1/campaigns/{cid}").json()
        assert client.patch("/v1/campaigns/999999", json={"priority": 1}).status_code == 404
    with server.client(outsider) as other:  # another tenant's campaign reads as missing
        assert other.patch(f"/v1/campaigns/{cid}", json={"concurrency": 50}).status_code == 404
    with server.client(admin) as audit_reader:
        entries = audit_reader.get(
            "/v1/audit", params={"action": "campaign.update", "resource_id": str(cid)}
        ).json()
    changes = [(entry["before"], entry["after"]) for entry in reversed(entries["items"])]
    assert changes[0] == ({"concurrency": 1, "priority": 0}, {"concurrency": 3, "priority": 7})
    assert any("webhook_secret" in after and after["webhook_secret"] == "***" for _, after in changes)
    assert all(entry["actor"]["tenant"] == "bank" for entry in entries["items"])
    with server.client(key) as client:
        assert client.post(f"/v1/campaigns/{cid}/cancel").status_code == 200
        assert client.patch(f"/v1/campaigns/{cid}", json={"priority": 1}).status_code == 409


def test_stop_at_ends_the_campaign_and_expires_what_is_left(server: Server) -> None:
    upload_flow(server, "bank")
    key = strategy_keys(server, "bank")
    factory = db(server)
    now = future_monday()
    with server.client(key) as client:
        cid = new_campaign(client)["id"]
        import_phones(client, cid, {"a": "13800002001", "b": "13800002002"})
        stop = now + dt.timedelta(hours=2)
        assert client.patch(f"/v1/campaigns/{cid}", json={"stop_at": stop.isoformat()}).status_code == 200
        assert client.get(f"/v1/campaigns/{cid}").json()["stop_at"] == stop.isoformat().replace("+00:00", "Z")
        assert len(claim(factory, cid, now, limit=1)) == 1
        assert claim(factory, cid, stop) == []  # stop_at is exclusive: nothing from then on
        with factory() as session:
            report = expire_overdue(session, stop)
        assert report.expired == 1 and report.closed == []  # one call still up keeps it open
        left = client.get(f"/v1/campaigns/{cid}/contacts/b").json()
        assert (left["state"], left["final_outcome"]) == ("done", "expired")


def test_cancel_one_pending_contact(server: Server) -> None:
    upload_flow(server, "bank")
    key = strategy_keys(server, "bank")
    outsider = strategy_keys(server, "other-bank")
    factory = db(server)
    now = future_monday()
    with server.client(key) as client:
        cid = new_campaign(client, webhook_url=HOOK, concurrency=1)["id"]
        import_phones(client, cid, {"a": "13800003001", "b": "13800003002", "c": "13800003003"})
        cancelled = client.post(f"/v1/campaigns/{cid}/contacts/b/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert (cancelled.json()["state"], cancelled.json()["final_outcome"]) == ("done", "cancelled")
        assert client.post(f"/v1/campaigns/{cid}/contacts/b/cancel").status_code == 409  # already done
        assert client.post(f"/v1/campaigns/{cid}/contacts/nobody/cancel").status_code == 404
        (first,) = claim(factory, cid, now)
        assert client.post(f"/v1/campaigns/{cid}/contacts/{first.reference_id}/cancel").status_code == 409
        with server.client(outsider) as other:
            assert other.post(f"/v1/campaigns/{cid}/contacts/c/cancel").status_code == 404
        dialled = {first.reference_id}
        with factory() as session:
            record_result(session, first.attempt_id, CallRecord(outcome="no_answer", sip_code=480), now)
        later = now + dt.timedelta(days=2)
        while got := claim(factory, cid, later):
            dialled |= {c.reference_id for c in got}
            with factory() as session:
                for one in got:
                    record_result(
                        session, one.attempt_id, CallRecord(outcome="rejected", sip_code=603), later
                    )
        assert "b" not in dialled  # a cancelled contact is never dialled
    with factory() as session:
        events = [
            e.payload
            for e in session.scalars(
                select(WebhookEvent).where(
                    WebhookEvent.campaign_id == cid, WebhookEvent.type == "contact.finished"
                )
            )
        ]
    assert [e["final_outcome"] for e in events if e["reference_id"] == "b"] == ["cancelled"]


def test_holiday_calendars_per_campaign_and_shared(server: Server) -> None:
    upload_flow(server, "bank")
    key = strategy_keys(server, "bank")
    outsider = strategy_keys(server, "other-bank")
    factory = db(server)
    now = future_monday()  # a Monday 10:00 in Shanghai
    monday = now.astimezone(SHANGHAI).date()
    tuesday, wednesday = monday + dt.timedelta(days=1), monday + dt.timedelta(days=2)
    day = dt.timedelta(days=1)
    with server.client(key) as client:
        put = client.put(
            "/v1/holiday-calendars/cn-public",
            json={"days": [{"date": tuesday.isoformat(), "name": "假日"}]},
        )
        assert put.status_code == 200 and put.json()["days"] == [
            {"date": tuesday.isoformat(), "name": "假日"}
        ]
        bad = client.put("/v1/holiday-calendars/cn-public", json={"days": [{"date": "2026-02-30"}]})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["body", "days"]
        twice = client.put(
            "/v1/holiday-calendars/cn-public",
            json={"days": [{"date": tuesday.isoformat()}, {"date": tuesday.isoformat()}]},
        )
        assert twice.status_code == 422 and twice.json()["detail"][0]["loc"] == ["body", "days"]
        assert client.put("/v1/holiday-calendars/bad%20name!", json={"days": []}).status_code == 422
        listed = client.get("/v1/holiday-calendars").json()["items"]
        assert [(c["name"], c["days"]) for c in listed] == [("cn-public", 1)]
        unknown = client.post(
            "/v1/campaigns", json={"name": "x", "flow_id": "mini", "holiday_calendars": ["no such!"]}
        )
        assert unknown.status_code == 422
        assert unknown.json()["detail"][0]["loc"][:2] == ["body", "holiday_calendars"]
        cid = new_campaign(
            client, concurrency=1, holidays=[wednesday.isoformat()], holiday_calendars=["cn-public"]
        )["id"]
        import_phones(client, cid, {"a": "13800004001", "b": "13800004002"})
    with server.client(outsider) as other:  # calendars are per tenant
        assert other.get("/v1/holiday-calendars/cn-public").status_code == 404
        assert other.get("/v1/holiday-calendars").json()["items"] == []
    (got,) = claim(factory, cid, now)
    assert claim(factory, cid, now + day) == []  # Tuesday: the shared calendar's holiday
    assert claim(factory, cid, now + 2 * day) == []  # Wednesday: the campaign's own
    with factory() as session:  # a retry due on the holidays waits for the next open day
        late = now + dt.timedelta(hours=13)  # Monday 23:00: the retry would be due on Tuesday 00:00
        result = CallRecord(outcome="no_answer", sip_code=480)
        recorded = record_result(session, got.attempt_id, result, late)
    assert recorded.next_attempt_at is not None
    assert recorded.next_attempt_at.astimezone(SHANGHAI).date() == monday + 3 * day
    assert [c.reference_id for c in claim(factory, cid, now + 3 * day)] == ["b"]  # due since the import
    with server.client(key) as client:  # the calendar can change: the scheduler follows
        assert client.delete("/v1/holiday-calendars/cn-public").status_code == 204
        assert client.get("/v1/holiday-calendars/cn-public").status_code == 404
        assert client.delete("/v1/holiday-calendars/cn-public").status_code == 404
        patched = client.patch(f"/v1/campaigns/{cid}", json={"holidays": []})
        assert patched.status_code == 200 and patched.json()["holidays"] == []
