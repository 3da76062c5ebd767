"""Carrier-announcement and voicemail outcomes through the service: the campaign's voicemail action
(validated, reaches the worker's claim), retry rules naming the new outcomes, and results that keep
the SIP code and the announcement's text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, Server
from waihu.call_record import CallRecord
from waihu.service.db import open_database
from waihu.service.scheduler import claim_due_contacts, record_result


@pytest.fixture(scope="module")
def client(server: Server) -> Any:
    with server.client() as admin:
        key = admin.post("/v1/keys", json={"name": "s", "role": "strategy"}).json()["key"]
        admin.post("/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"})
    with server.client(key) as strategy:
        yield strategy


def create(client: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"name": "c", "flow_id": "mini", "windows": ALL_DAY, "timezone": "Asia/Shanghai"} | fields
    return client.post("/v1/campaigns", json=body)


def test_voicemail_action_is_validated_and_shown(client: httpx.Client) -> None:
    no_message = create(client, voicemail_action="message")
    assert no_message.status_code == 422 and "voicemail_message" in no_message.text
    bad = create(client, voicemail_action="sing")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "voicemail_action"]
    default = create(client)
    assert default.status_code == 201 and default.json()["voicemail_action"] == "hangup"
    made = create(client, voicemail_action="message", voicemail_message="您好，这里是星河银行，请回电。")
    assert made.status_code == 201, made.text
    assert (made.json()["voicemail_action"], made.json()["voicemail_message"]) == (
        "message",
        "您好，这里是星河银行，请回电。",
    )


def test_new_outcomes_are_retried_by_policy_and_kept_in_results(server: Server, client: httpx.Client) -> None:
    policy = {
        "powered_off": {"interval_s": 3600, "max": 1},
        "suspended": {"interval_s": 3600, "max": 0},
        "voicemail": {"interval_s": 3600, "max": 1},
    }
    made = create(
        client, retry_policy=policy, voicemail_action="message", voicemail_message="请回电", max_attempts=3
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    rows = [{"reference_id": f"r{i}", "phone": f"1360000000{i}"} for i in range(3)]
    assert client.post(f"/v1/campaigns/{cid}/contacts", json=rows).status_code in (200, 201)
    _engine, factory = open_database(server.settings.database_url, migrate=False)
    now = dt.datetime.now(dt.UTC)
    with factory() as session:
        claims = claim_due_contacts(session, "carrier-test", now, 10, campaign_ids=[cid])
    assert len(claims) == 3
    assert {(c.voicemail_action, c.voicemail_message) for c in claims} == {("message", "请回电")}
    results = [
        CallRecord(outcome="powered_off", sip_code=487, carrier_announcement="您拨打的电话已关机"),
        CallRecord(outcome="suspended", sip_code=503, carrier_announcement="您拨打的电话已停机"),
        CallRecord(outcome="voicemail", sip_code=200, hangup_by="robot"),
    ]
    with factory() as session:
        for claim, result in zip(claims, results, strict=True):
            record_result(session, claim.attempt_id, result, now + dt.timedelta(seconds=5))
    items = client.get("/v1/results", params={"campaign_id": cid}).json()["items"]
    by_outcome = {item["outcome"]: item for item in items}
    assert by_outcome["powered_off"]["carrier_announcement"] == "您拨打的电话已关机"
    assert by_outcome["powered_off"]["sip_code"] == 487
    assert by_outcome["suspended"]["sip_code"] == 503
    assert by_outcome["voicemail"]["carrier_announcement"] is None
    filtered = client.get("/v1/results", params={"campaign_id": cid, "outcome": "powered_off"}).json()
    assert [item["outcome"] for item in filtered["items"]] == ["powered_off"]
    contacts = client.get(f"/v1/campaigns/{cid}/contacts").json()["items"]
    states = {c["reference_id"]: c["state"] for c in contacts}
    # powered_off and voicemail wait for their retry; suspended (max 0) is done.
    assert sorted(states.values()) == ["done", "pending", "pending"], states
