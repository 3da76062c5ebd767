"""Right to erasure over real HTTP: recordings, transcripts and numbers go, an audit trace stays; a
recording path outside the recordings directory is never deleted; a contact in a call answers 409."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.security.tenants import light_console
from tests.service.helpers import ALL_DAY, Server, graded_call, strategy_and_operator
from waihu.call_record import CallRecord
from waihu.service.db import open_database
from waihu.service.models import Attempt, Contact, WebhookEvent
from waihu.service.scheduler import claim_due_contacts, mark_answered, record_result

YAML = {"Content-Type": "application/yaml"}
PHONES = {"a": "13800001111", "b": "13800002222", "c": "13800003333", "d": "13800004444"}


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    return strategy_and_operator(server, "erase")


def test_erasure_removes_personal_data_and_keeps_an_audit_trace(
    server: Server, keys: dict[str, str], tmp_path: Path
) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    light_console(server, recordings.resolve())
    inside = recordings / "a.wav"
    inside.write_bytes(b"RIFF....WAVE")
    outside = tmp_path / "precious.wav"  # an attacker-chosen path stored on an attempt
    outside.write_bytes(b"RIFF....WAVE")
    with server.client(keys["strategy"]) as client:
        body = {"name": "erase", "flow_id": "mini", "windows": ALL_DAY, "retry_policy": {}}
        campaign = client.post("/v1/campaigns", json=body | {"webhook_url": "http://127.0.0.1:9/h"}).json()
        cid = campaign["id"]
        rows = [
            {"reference_id": ref, "phone": phone, "name": "张三", "variables": {"card": "6222"}}
            for ref, phone in PHONES.items()
        ]
        assert client.post(f"/v1/campaigns/{cid}/contacts", json=rows[:1] + rows[2:]).status_code in (
            200,
            201,
        )
    _engine, factory = open_database(server.settings.database_url, migrate=False)
    now = dt.datetime.now(dt.UTC)
    with factory() as session:
        claims = {c.reference_id: c for c in claim_due_contacts(session, "w", now, 3, campaign_ids=[cid])}
        for ref, path in (("a", inside), ("c", outside)):
            result = CallRecord(
                outcome="answered",
                answer_at=now,
                end_at=now,
                conversation=graded_call("A"),
                recording_path=str(path),
            )
            record_result(session, claims[ref].attempt_id, result, now)
        mark_answered(session, claims["d"].attempt_id, now)
        attempt = session.get(Attempt, claims["a"].attempt_id)
        assert attempt is not None
        attempt.transcript = [{"utterance": f"我的电话是{PHONES['a']}"}]
        session.commit()
    with server.client(keys["strategy"]) as client:
        assert client.post(f"/v1/campaigns/{cid}/contacts", json=rows[1:2]).status_code in (
            200,
            201,
        )  # b: pending
        erased = client.delete(f"/v1/campaigns/{cid}/contacts/a")
        assert erased.status_code == 200, erased.text
        assert erased.json() == {
            "reference_id": "a",
            "erased": True,
            "attempts": 1,
            "recordings_deleted": 1,
            "events_scrubbed": erased.json()["events_scrubbed"],
        }
        assert erased.json()["events_scrubbed"] >= 1  # call.finished and contact.finished, undelivered
        detail = client.get(f"/v1/campaigns/{cid}/contacts/a").json()
        assert (detail["name"], detail["variables"], detail["grade"]) == ("", {}, "A")
        assert detail["phone"] == "+86138****1111"
        one = detail["attempts_detail"][0]
        assert (one["transcript"], one["recording_path"], one["phone"]) == ([], None, "+86138****1111")
        assert client.delete(f"/v1/campaigns/{cid}/contacts/c").status_code == 200
        pending = client.delete(f"/v1/campaigns/{cid}/contacts/b")
        assert pending.status_code == 200 and pending.json()["attempts"] == 0
        b = client.get(f"/v1/campaigns/{cid}/contacts/b").json()
        assert (b["state"], b["final_outcome"]) == ("done", "erased")
        busy = client.delete(f"/v1/campaigns/{cid}/contacts/d")
        assert busy.status_code == 409 and "call has ended" in busy.json()["detail"]
        assert client.delete(f"/v1/campaigns/{cid}/contacts/nobody").status_code == 404
    assert not inside.exists() and outside.exists()  # only files below the recordings directory go
    with server.client(keys["operator"]) as operator:
        assert operator.delete(f"/v1/campaigns/{cid}/contacts/d").status_code == 403
    with server.client(server.platform_key) as stranger:
        assert stranger.delete(f"/v1/campaigns/{cid}/contacts/d").status_code == 404
    with server.client() as admin:
        audit = admin.get("/v1/audit", params={"action": "contact.erase", "limit": 50}).json()["items"]
    trace = [entry for entry in audit if entry["resource_id"] == f"{cid}/a"]
    assert len(trace) == 1 and trace[0]["after"]["recordings_deleted"] == 1
    with factory() as session:
        stored = [
            json.dumps(event.payload, ensure_ascii=False)
            for event in session.scalars(select(WebhookEvent).where(WebhookEvent.campaign_id == cid))
        ]
        contact = session.scalars(
            select(Contact).where(Contact.reference_id == "a", Contact.campaign_id == cid)
        ).one()
    assert not any(PHONES["a"] in text or PHONES["b"] in text for text in stored)
    assert PHONES["d"] not in contact.phone and contact.phone.endswith("1111")
    light_console(server, None)
