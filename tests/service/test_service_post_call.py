"""Post-call actions (挂机短信) over real HTTP: rules set through the API, signed ``notify`` events to a
real local receiver, retried from the outbox, delivery status in the result, and the SSRF policy."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from dialog.flow_files import NO_FILES
from dialog.loader import load_flow_text
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, Server, free_port, graded_call, strategy_and_operator
from tests.service.test_service_webhooks import LOCAL_RECEIVERS, Receiver, serve
from waihu.call_record import CallRecord
from waihu.service.db import open_database
from waihu.service.models import Campaign, WebhookEvent
from waihu.service.post_call import matches
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.webhooks import SIGNATURE_HEADER, Backoff, WebhookSender, verify_signature

YAML = {"Content-Type": "application/yaml"}
SECRET = "k3J9-post-call-secret-Vq7Zr2mX8wLp4Tn"
RULES = [
    {
        "name": "分期链接",
        "when": {"grades": ["A"], "outcomes": ["answered"]},
        "template": "{name}您好，分期办理链接：{link}",
        "data": {"channel": "sms", "sign": "星河银行"},
    },
    {
        "name": "未接通",
        "when": {"outcomes": ["no_answer"]},
        "template": "{name}您好，刚才未能接通，稍后再联系您。",
    },
    {"name": "优惠券", "when": {"tags_any": ["想办理"]}, "template": "券码：{coupon}"},
]


def test_rule_matching() -> None:
    rule = {"when": {"grades": ["A", "B"], "tags_any": ["想办理", "要链接"], "outcomes": ["answered"]}}
    assert matches(rule, "answered", "B", ["要链接"])
    assert not matches(rule, "answered", "C", ["要链接"])
    assert not matches(rule, "answered", "A", [])
    assert not matches(rule, "busy", "A", ["想办理"])
    assert matches({"when": {}}, "busy", None, [])


@pytest.fixture(scope="module")
def strategy(server: Server) -> str:
    return strategy_and_operator(server, "pc")["strategy"]


def _campaign(server: Server, key: str) -> int:
    with server.client(key) as client:
        body = {"name": "pc", "flow_id": "mini", "windows": ALL_DAY, "retry_policy": {}}
        response = client.post("/v1/campaigns", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


def _loc(response: Any) -> list[Any]:
    assert response.status_code == 422, response.text
    return list(response.json()["detail"][0]["loc"])


def test_post_call_endpoint_must_pass_the_ssrf_policy(server: Server, strategy: str) -> None:
    cid = _campaign(server, strategy)
    url = f"/v1/campaigns/{cid}/post-call"
    with server.client(strategy) as client:
        for target in (
            "http://169.254.169.254/latest/meta-data/",  # cloud metadata
            "http://10.0.0.7/sms",  # private network (the test server admits only 127.0.0.1)
            "http://[::ffff:169.254.169.254]/x",  # IPv4 inside IPv6
            "http://0x7f000002/x",  # legacy spelling of 127.0.0.2
            "http://user:pw@127.0.0.1/x",  # credentials
        ):
            response = client.put(url, json={"url": target, "rules": RULES[:1]})
            assert _loc(response) == ["body", "url"], target
        assert _loc(client.put(url, json={"url": "ftp://127.0.0.1/x", "rules": RULES[:1]}))[:2] == [
            "body",
            "url",
        ]
        broken = [{"name": "x", "template": "{name"}]
        assert _loc(client.put(url, json={"url": "http://127.0.0.1:9/", "rules": broken})) == [
            "body",
            "rules",
            0,
            "template",
        ]
        twice = [RULES[0], RULES[0]]
        assert _loc(client.put(url, json={"url": "http://127.0.0.1:9/", "rules": twice})) == ["body", "rules"]
        weak = {"url": "http://127.0.0.1:9/", "rules": RULES[:1], "secret": "a" * 40}
        assert _loc(client.put(url, json=weak)) == ["body", "secret"]
        assert client.get(url).json()["url"] is None


def test_notify_is_signed_delivered_retried_and_shown_in_the_result(server: Server, strategy: str) -> None:
    cid = _campaign(server, strategy)
    receiver = Receiver(statuses=[500])  # the gateway fails once
    with serve(receiver, free_port()) as hook:
        with server.client(strategy) as client:
            put = client.put(
                f"/v1/campaigns/{cid}/post-call", json={"url": hook, "rules": RULES, "secret": SECRET}
            )
            assert put.status_code == 200, put.text
            assert "secret" not in put.json() and client.get(f"/v1/campaigns/{cid}/post-call").json()[
                "rules"
            ][0]["template"].startswith("{name}")
            rows = [
                {
                    "reference_id": "zhang",
                    "phone": "13800001111",
                    "name": "张先生",
                    "variables": {"link": "https://t.cn/A1"},
                },
                {"reference_id": "li", "phone": "13800002222", "name": "李女士"},
                {"reference_id": "wang", "phone": "13800003333", "name": "王先生"},
            ]
            assert client.post(f"/v1/campaigns/{cid}/contacts", json=rows).status_code in (200, 201)
        _engine, factory = open_database(server.settings.database_url, migrate=False)
        now = dt.datetime.now(dt.UTC)
        with factory() as session:
            claims = {c.reference_id: c for c in claim_due_contacts(session, "w", now, 3, campaign_ids=[cid])}
            record_result(session, claims["zhang"].attempt_id, _answered("A", ["想办理"], now), now)
            record_result(session, claims["li"].attempt_id, CallRecord(outcome="no_answer", end_at=now), now)
            record_result(session, claims["wang"].attempt_id, _answered("C", [], now), now)
        sender = WebhookSender(factory, backoff=Backoff(base_s=5), policy=LOCAL_RECEIVERS)
        try:
            assert sender.deliver_due(now) == 1  # 分期链接 got the 500; 未接通 delivered
            with server.client(strategy) as client:
                pending = client.get(f"/v1/results/{claims['zhang'].attempt_id}").json()["notifications"]
            assert {n["rule"]: n["status"] for n in pending} == {"分期链接": "retrying", "优惠券": "skipped"}
            assert sender.deliver_due(now + dt.timedelta(seconds=6)) == 1
            assert sender.deliver_due(now + dt.timedelta(hours=1)) == 0  # never twice
        finally:
            sender.close()
    sent = [json.loads(body) for _headers, body in receiver.received]
    assert all(verify_signature(h[SIGNATURE_HEADER], body, SECRET) for h, body in receiver.received)
    assert [envelope["type"] for envelope in sent] == ["notify"] * 3
    texts = {envelope["data"]["rule"]: envelope["data"] for envelope in sent}
    assert texts["分期链接"]["text"] == "张先生您好，分期办理链接：https://t.cn/A1"
    assert texts["分期链接"]["data"] == {"channel": "sms", "sign": "星河银行"}
    assert texts["分期链接"]["phone"] == "+8613800001111" and texts["未接通"]["text"].startswith("李女士您好")
    with server.client(strategy) as client:
        zhang = client.get(f"/v1/results/{claims['zhang'].attempt_id}").json()["notifications"]
        listed = client.get("/v1/results", params={"campaign_id": cid}).json()["items"]
    status = {n["rule"]: n for n in zhang}
    assert status["分期链接"]["status"] == "delivered" and status["分期链接"]["tries"] == 2
    assert status["优惠券"]["status"] == "skipped" and "coupon" in status["优惠券"]["last_error"]
    by_ref = {item["reference_id"]: item["notifications"] for item in listed}
    assert [n["status"] for n in by_ref["li"]] == ["delivered"] and by_ref["wang"] == []


def test_a_stored_endpoint_the_policy_refuses_is_never_called(server: Server, strategy: str) -> None:
    """Rules written straight into the database (or a DNS name that later points inside): the sender
    checks the destination again before each delivery."""
    cid = _campaign(server, strategy)
    _engine, factory = open_database(server.settings.database_url, migrate=False)
    with factory() as session:
        campaign = session.get(Campaign, cid)
        assert campaign is not None
        campaign.post_call = {"url": "http://169.254.169.254/latest", "secret": SECRET, "rules": RULES[1:2]}
        session.commit()
    with server.client(strategy) as client:
        client.post(f"/v1/campaigns/{cid}/contacts", json=[{"reference_id": "x", "phone": "13800004444"}])
    now = dt.datetime.now(dt.UTC)
    with factory() as session:
        (claim,) = claim_due_contacts(session, "w", now, 1, campaign_ids=[cid])
        record_result(session, claim.attempt_id, CallRecord(outcome="no_answer", end_at=now), now)
    sender = WebhookSender(factory, policy=LOCAL_RECEIVERS)
    try:
        assert sender.deliver_due(now) == 0
    finally:
        sender.close()
    with factory() as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.attempt_id == claim.attempt_id)).one()
    assert event.delivered_at is None and "destination refused" in (event.last_error or "")


def _answered(grade: str, tags: list[str], now: dt.datetime) -> CallRecord:
    end = now + dt.timedelta(seconds=20)
    return CallRecord(
        outcome="answered", sip_code=200, answer_at=now, end_at=end, conversation=graded_call(grade, tags)
    )


FLOW_WITH_ACTIONS = (
    MINIMAL_FLOW.replace("id: mini", "id: mini_sms")
    + """post_call:
  - name: 办理成功
    when: {grades: [A]}
    template: "{name}您好，已为您办理，详情：{reference_id}"
    data: {channel: sms}
"""
)


def test_the_validator_checks_flow_post_call_actions() -> None:
    bad = FLOW_WITH_ACTIONS.replace("详情：{reference_id}", "链接：{link}").replace(
        "grades: [A]", "grades: [Z]"
    )
    loaded = load_flow_text(bad, "sms.yaml", files=NO_FILES)
    found = {(problem.line, problem.message) for problem in loaded.errors}
    template_line = bad.splitlines().index('    template: "{name}您好，已为您办理，链接：{link}"') + 1
    assert any(line == template_line and "'{link}' is neither declared" in m for line, m in found), found
    assert any(line == template_line - 1 and "grade 'Z'" in m for line, m in found), found
    assert load_flow_text(FLOW_WITH_ACTIONS, "sms.yaml", files=NO_FILES).errors == []


def test_flow_level_action_is_sent_to_the_campaign_endpoint(server: Server, strategy: str) -> None:
    with server.client() as admin:
        operator = admin.post("/v1/keys", json={"name": "sms op", "role": "operator"}).json()["key"]
    with server.client(operator) as client:
        uploaded = client.post("/v1/flows", content=FLOW_WITH_ACTIONS, headers=YAML)
        assert uploaded.status_code == 201, uploaded.text
    receiver = Receiver()
    with serve(receiver, free_port()) as hook:
        with server.client(strategy) as client:
            body = {"name": "sms", "flow_id": "mini_sms", "windows": ALL_DAY, "retry_policy": {}}
            cid = client.post("/v1/campaigns", json=body).json()["id"]
            put = client.put(f"/v1/campaigns/{cid}/post-call", json={"url": hook, "secret": SECRET})
            assert put.status_code == 200 and put.json()["rules"] == []
            rows = [{"reference_id": "r-9", "phone": "13800009999"}]  # no name: the flow's default 客户
            assert client.post(f"/v1/campaigns/{cid}/contacts", json=rows).status_code in (200, 201)
        _engine, factory = open_database(server.settings.database_url, migrate=False)
        now = dt.datetime.now(dt.UTC)
        with factory() as session:
            (claim,) = claim_due_contacts(session, "w", now, 1, campaign_ids=[cid])
            record_result(session, claim.attempt_id, _answered("A", [], now), now)
        sender = WebhookSender(factory, policy=LOCAL_RECEIVERS)
        try:
            assert sender.deliver_due() == 1
        finally:
            sender.close()
    (headers, body), *_ = receiver.received
    assert verify_signature(headers[SIGNATURE_HEADER], body, SECRET)
    data = json.loads(body)["data"]
    assert (data["rule"], data["text"], data["data"]) == (
        "办理成功",
        "客户您好，已为您办理，详情：r-9",
        {"channel": "sms"},
    )
