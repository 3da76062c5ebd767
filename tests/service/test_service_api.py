"""The HTTP API over real HTTP (uvicorn on a loopback port, httpx client)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dialog.state import CallResult
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, Server
from waihu.call_record import CallRecord
from waihu.service.db import open_database
from waihu.service.models import WebhookEvent
from waihu.service.scheduler import claim_due_contacts, record_result


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    """One key per role."""
    with server.client() as admin:
        return {
            role: admin.post("/v1/keys", json={"name": f"{role} key", "role": role}).json()["key"]
            for role in ("strategy", "operator", "admin")
        }


@pytest.fixture(scope="module")
def flow(server: Server, keys: dict[str, str]) -> dict[str, Any]:
    """The minimal flow, uploaded by an operator."""
    with server.client(keys["operator"]) as operator:
        response = operator.post(
            "/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"}
        )
    assert response.status_code in (200, 201), response.text
    return response.json()


def new_campaign(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body = {"name": "c", "flow_id": "mini", "windows": ALL_DAY, "timezone": "Asia/Shanghai"} | overrides
    response = client.post("/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_auth_missing_wrong_and_role(server: Server, keys: dict[str, str], flow: dict[str, Any]) -> None:
    with httpx.Client(base_url=server.base_url) as anonymous:
        response = anonymous.get("/v1/campaigns")
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        assert (
            anonymous.get("/v1/campaigns", headers={"Authorization": "Bearer whk_nope.nope"}).status_code
            == 401
        )
        assert anonymous.get("/v1/campaigns", headers={"Authorization": "Basic abc"}).status_code == 401
        wrong_secret = keys["strategy"].rsplit(".", 1)[0] + ".wrong"
        assert (
            anonymous.get("/v1/campaigns", headers={"Authorization": f"Bearer {wrong_secret}"}).status_code
            == 401
        )
        assert anonymous.get("/openapi.json").status_code == 200
    with server.client(keys["operator"]) as operator:
        assert operator.get("/v1/campaigns").status_code == 403
        assert operator.get("/v1/flows").status_code == 200
    with server.client(keys["strategy"]) as strategy:
        assert strategy.get("/v1/campaigns").status_code == 200
        assert strategy.post("/v1/keys", json={"name": "x", "role": "admin"}).status_code == 403
        assert strategy.post("/v1/flows", content=MINIMAL_FLOW).status_code == 403
        assert strategy.post("/v1/seats", json={"uri": "sip:1@h"}).status_code == 403


def test_revoked_key_is_refused(server: Server) -> None:
    with server.client() as admin:
        created = admin.post("/v1/keys", json={"name": "temp", "role": "strategy"}).json()
        assert created["key"].startswith("whk_")
        listed = admin.get("/v1/keys").json()["items"]
        assert all("key" not in item and "secret_hash" not in item for item in listed)
        assert admin.delete(f"/v1/keys/{created['id']}").status_code == 204
    with server.client(created["key"]) as revoked:
        assert revoked.get("/v1/campaigns").status_code == 401


def test_flow_upload_versions_and_problems(
    server: Server, keys: dict[str, str], flow: dict[str, Any]
) -> None:
    with server.client(keys["operator"]) as operator:
        assert flow["flow_id"] == "mini" and flow["version"] >= 1 and len(flow["sha256"]) == 64
        same = operator.post("/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"})
        assert same.status_code == 200 and same.json()["version"] == flow["version"]
        changed = MINIMAL_FLOW.replace("name: Mini", "name: Mini two")
        second = operator.post(
            "/v1/flows", files={"file": ("mini.yaml", changed.encode(), "application/yaml")}
        )
        assert second.status_code == 201 and second.json()["version"] == flow["version"] + 1
        bad = MINIMAL_FLOW.replace("start: ask", "start: nowhere")
        rejected = operator.post("/v1/flows", content=bad, headers={"Content-Type": "application/yaml"})
        assert rejected.status_code == 422
        problems = rejected.json()["detail"]["problems"]
        assert problems and all(p.count(":") >= 3 for p in problems)
        assert any(p.startswith("flow.yaml:") and "nowhere" in p for p in problems), problems
        syntax = operator.post("/v1/flows", content="flow: [", headers={"Content-Type": "text/plain"})
        assert syntax.status_code == 422 and syntax.json()["detail"]["problems"][0].startswith("flow.yaml:")
        versions = operator.get("/v1/flows/mini/versions").json()["items"]
        assert [v["version"] for v in versions][:2] == [flow["version"] + 1, flow["version"]]
        one = operator.get(f"/v1/flows/mini/versions/{flow['version']}").json()
        assert one["yaml"] == MINIMAL_FLOW
        assert operator.get("/v1/flows/mini/versions/999").status_code == 404


def test_create_campaign_validates_flow_and_fields(
    server: Server, keys: dict[str, str], flow: dict[str, Any]
) -> None:
    with server.client(keys["strategy"]) as client:
        created = new_campaign(client, flow_version=flow["version"], webhook_url="http://127.0.0.1:1/h")
        assert created["state"] == "scheduling" and created["flow_version"] == flow["version"]
        assert len(created["webhook_secret"]) >= 16  # generated, shown once
        assert "webhook_secret" not in client.get(f"/v1/campaigns/{created['id']}").json()
        missing = client.post("/v1/campaigns", json={"name": "x", "flow_id": "nope"})
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "flow_id"]
        no_version = client.post("/v1/campaigns", json={"name": "x", "flow_id": "mini", "flow_version": 999})
        assert no_version.json()["detail"][0]["loc"] == ["body", "flow_version"]
        cases = {
            "timezone": {"timezone": "Mars/Base"},
            "windows": {"windows": [{"weekdays": [8], "start": "09:00", "end": "10:00"}]},
            "retry_policy": {"retry_policy": {"no_answer": {"interval_s": 1, "max": 1}}},
            "concurrency": {"concurrency": 0},
            "webhook_url": {"webhook_url": "not a url"},
            "surprise": {"surprise": 1},
        }
        for field, extra in cases.items():
            response = client.post("/v1/campaigns", json={"name": "x", "flow_id": "mini"} | extra)
            assert response.status_code == 422, field
            assert field in json.dumps(response.json()["detail"]), (field, response.json())
        assert (
            client.post(
                "/v1/campaigns", content=b"{not json", headers={"Content-Type": "application/json"}
            ).status_code
            == 422
        )
        again = client.post("/v1/campaigns", json={"name": "r", "flow_id": "mini", "reference_id": "batch-7"})
        assert again.status_code == 201
        same = client.post("/v1/campaigns", json={"name": "r", "flow_id": "mini", "reference_id": "batch-7"})
        assert same.status_code == 200 and same.json()["id"] == again.json()["id"]


def test_import_json_and_csv_with_row_errors_and_idempotency(
    server: Server, keys: dict[str, str], flow: dict[str, Any]
) -> None:
    with server.client(keys["strategy"]) as client:
        campaign = new_campaign(client)
        url = f"/v1/campaigns/{campaign['id']}/contacts"
        body = {
            "contacts": [
                {
                    "reference_id": "a1",
                    "phone": "138 0000 0001",
                    "name": "张三",
                    "variables": {"amount": 120},
                },
                {"referenceId": "a2", "phoneNumber": "+86-139-0000-0002"},
                {"reference_id": "a3", "phone": "12ab"},
                {"phone": "13800000004"},
                {"reference_id": "a1", "phone": "13800000005"},
                {"reference_id": "a6", "phone": "13800000006", "colour": "red"},
            ]
        }
        report = client.post(url, json=body).json()
        assert (report["received"], report["created"], report["existing"], report["rejected"]) == (6, 2, 0, 4)
        errors = {(e["row"], e["field"]) for e in report["errors"]}
        assert errors == {(3, "phone"), (4, "reference_id"), (5, "reference_id"), (6, "colour")}
        again = client.post(url, json=body).json()
        assert (again["created"], again["existing"]) == (0, 2)
        csv_text = (
            "reference_id,phone,name,amount\na3,13800000003,王五,10\na1,13800000001,dup,1\nbad,99,x,1\n"
        )
        csv_report = client.post(url, content=csv_text.encode(), headers={"Content-Type": "text/csv"}).json()
        assert (csv_report["created"], csv_report["existing"], csv_report["rejected"]) == (1, 1, 1)
        assert csv_report["errors"][0] | {"message": ""} == {
            "row": 3,
            "line": 4,
            "field": "phone",
            "reference_id": "bad",
            "message": "",
            "code": "phone_invalid",  # the message's registry code, for clients that word it themselves
            "params": {"region": "CN"},
        }
        upload = client.post(
            url, files={"file": ("c.csv", b"phone,reference_id\n13800000009,a9\n", "text/csv")}
        ).json()
        assert upload["created"] == 1
        contact = client.get(f"{url}/a1").json()
        assert (contact["phone"], contact["name"], contact["variables"], contact["state"]) == (
            "+8613800000001",
            "张三",
            {"amount": "120"},
            "pending",
        )
        a3 = client.get(f"{url}/a3").json()
        assert a3["variables"] == {"amount": "10"}
        counters = client.get(f"/v1/campaigns/{campaign['id']}/counters").json()
        assert (counters["total"], counters["pending"]) == (4, 4)
        assert (
            client.post(url, content=b"x,y\n1,2\n", headers={"Content-Type": "text/csv"}).status_code == 422
        )
        assert (
            client.post(url, content=b"<xml/>", headers={"Content-Type": "application/xml"}).status_code
            == 415
        )
        assert client.post(url, json={"contacts": "nope"}).status_code == 422
        assert client.post("/v1/campaigns/999999/contacts", json={"contacts": []}).status_code == 404


def test_list_pagination_and_filters(server: Server, keys: dict[str, str], flow: dict[str, Any]) -> None:
    with server.client(keys["strategy"]) as client:
        campaign = new_campaign(client, name="paged")
        contacts = [{"reference_id": f"p{i}", "phone": f"1370000{i:04d}"} for i in range(25)]
        assert client.post(f"/v1/campaigns/{campaign['id']}/contacts", json=contacts).json()["created"] == 25
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
            page = client.get(f"/v1/campaigns/{campaign['id']}/contacts", params=params).json()
            seen += [item["reference_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"p{i}" for i in range(25)]
        bad = client.get(f"/v1/campaigns/{campaign['id']}/contacts", params={"cursor": "garbage!"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]
        new_campaign(client, name="paged too")  # two at least, whichever tests ran before on this server
        first = client.get("/v1/campaigns", params={"limit": 1}).json()
        second = client.get("/v1/campaigns", params={"limit": 1, "cursor": first["next_cursor"]}).json()
        assert first["items"][0]["id"] > second["items"][0]["id"]
        assert all(
            c["state"] == "scheduling"
            for c in client.get("/v1/campaigns", params={"state": "scheduling"}).json()["items"]
        )
        assert client.get("/v1/campaigns", params={"state": "bogus"}).status_code == 422
        assert client.get("/v1/campaigns", params={"limit": 0}).status_code == 422


def test_pause_resume_cancel(server: Server, keys: dict[str, str], flow: dict[str, Any]) -> None:
    with server.client(keys["strategy"]) as client:
        campaign = new_campaign(client)
        cid = campaign["id"]
        client.post(f"/v1/campaigns/{cid}/contacts", json=[{"reference_id": "x", "phone": "13600000001"}])
        assert client.post(f"/v1/campaigns/{cid}/pause").json()["state"] == "paused"
        assert client.post(f"/v1/campaigns/{cid}/pause").status_code == 200  # already paused: no-op
        assert client.post(f"/v1/campaigns/{cid}/resume").json()["state"] == "scheduling"
        assert client.post(f"/v1/campaigns/{cid}/resume").status_code == 409
        cancelled = client.post(f"/v1/campaigns/{cid}/cancel").json()
        assert cancelled["state"] == "cancelled" and cancelled["counters"]["done_by_outcome"] == {
            "cancelled": 1
        }
        assert client.post(f"/v1/campaigns/{cid}/resume").status_code == 409
        assert (
            client.post(
                f"/v1/campaigns/{cid}/contacts", json=[{"reference_id": "y", "phone": "13600000002"}]
            ).status_code
            == 409
        )
        assert client.post("/v1/campaigns/424242/pause").status_code == 404


def test_results_counters_and_regrade(server: Server, keys: dict[str, str], flow: dict[str, Any]) -> None:
    factory = None
    with server.client(keys["strategy"]) as client:
        campaign = new_campaign(client, retry_policy={}, webhook_url="http://127.0.0.1:1/h")
        cid = campaign["id"]
        rows = [{"reference_id": f"r{i}", "phone": f"1350000000{i}"} for i in range(3)]
        client.post(f"/v1/campaigns/{cid}/contacts", json=rows)
        _engine, factory = open_database(server.settings.database_url, migrate=False)
        now = dt.datetime.now(dt.UTC)
        with factory() as session:
            claims = claim_due_contacts(session, "api-test", now, 10, campaign_ids=[cid])
        assert len(claims) == 3
        live = client.get(f"/v1/campaigns/{cid}").json()
        assert (live["state"], live["counters"]["dialling"], live["counters"]["lines_in_use"]) == (
            "executing",
            3,
            3,
        )
        call = CallResult(
            flow_id="mini",
            flow_version=1,
            outcome="callee_hangup",
            hangup_reason=None,
            grade="B",
            grade_label="interested",
            tags=["asked about fees"],
            dnc=False,
            rounds=2,
            kb_hits=["fee"],
            visited=["ask"],
            barge_ins=0,
            trace=[],
        )
        with factory() as session:
            outcomes = [
                CallRecord(
                    outcome="answered",
                    sip_code=200,
                    answer_at=now,
                    end_at=now + dt.timedelta(seconds=30),
                    conversation=call,
                ),
                CallRecord(
                    outcome="busy", sip_code=486, sip_reason="Busy Here", end_at=now + dt.timedelta(seconds=1)
                ),
                CallRecord(outcome="no_answer", sip_code=480, end_at=now + dt.timedelta(seconds=2)),
            ]
            for claim, result in zip(claims, outcomes, strict=True):
                record_result(session, claim.attempt_id, result, now + dt.timedelta(seconds=40))
        done = client.get(f"/v1/campaigns/{cid}").json()
        assert done["state"] == "succeeded"
        assert done["counters"]["done_by_outcome"] == {"answered": 1, "busy": 1, "no_answer": 1}
        assert done["counters"]["done_by_grade"] == {"B": 1}
        results = client.get("/v1/results", params={"campaign_id": cid, "limit": 2}).json()
        assert [r["outcome"] for r in results["items"]] == ["busy", "no_answer"]  # by end time
        rest = client.get("/v1/results", params={"campaign_id": cid, "cursor": results["next_cursor"]}).json()
        assert [r["outcome"] for r in rest["items"]] == ["answered"] and rest["next_cursor"] is None
        answered = rest["items"][0]
        assert (answered["grade"], answered["hangup_by"], answered["duration_s"], answered["rounds"]) == (
            "B",
            "callee",
            30.0,
            2,
        )
        assert answered["kb_hits"] == ["fee"] and answered["attempt_number"] == 1 and not answered["is_retry"]
        graded = client.get("/v1/results", params={"campaign_id": cid, "grade": "B"}).json()["items"]
        assert len(graded) == 1 and "transcript" not in graded[0]
        one = client.get(f"/v1/results/{answered['attempt_id']}").json()
        assert one["transcript"] == [] and one["reference_id"] == answered["reference_id"]
        window = client.get(
            "/v1/results",
            params={"campaign_id": cid, "ended_after": (now + dt.timedelta(seconds=2)).isoformat()},
        ).json()
        assert [r["outcome"] for r in window["items"]] == ["no_answer", "answered"]
        naive = client.get("/v1/results", params={"ended_after": "2026-01-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["query", "ended_after"]
        assert client.get("/v1/results", params={"outcome": "exploded"}).status_code == 422
        ref = answered["reference_id"]
        regrade = client.post(
            f"/v1/campaigns/{cid}/contacts/{ref}/grade", json={"grade": "A", "label": "agreed on callback"}
        )
        assert regrade.status_code == 200 and regrade.json()["grade"] == "A"
        assert (
            client.post(f"/v1/campaigns/{cid}/contacts/{ref}/grade", json={"grade": "lowercase"}).status_code
            == 422
        )
        detail = client.get(f"/v1/campaigns/{cid}/contacts/{ref}").json()
        assert detail["grade"] == "A" and detail["attempts_detail"][0]["grade"] == "B"
    with factory() as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "contact.regraded")).one()
        assert (
            event.payload["previous"] == {"grade": "B", "label": "interested"}
            and event.payload["grade"] == "A"
        )


def test_dnc_add_list_remove_and_scheduler_respects_it(
    server: Server, keys: dict[str, str], flow: dict[str, Any]
) -> None:
    with server.client(keys["strategy"]) as client:
        added = client.post("/v1/dnc", json={"phone": "139-1111-2222", "reason": "complaint"})
        assert added.status_code == 201 and added.json()["phone"] == "+8613911112222"
        assert client.post("/v1/dnc", json={"phone": "+8613911112222"}).status_code == 200
        assert client.post("/v1/dnc", json={"phone": "abc"}).json()["detail"][0]["loc"] == ["body", "phone"]
        listed = client.get("/v1/dnc", params={"phone": "13911112222"}).json()["items"]
        assert [item["reason"] for item in listed] == ["complaint"]
        campaign = new_campaign(client)
        client.post(
            f"/v1/campaigns/{campaign['id']}/contacts", json=[{"reference_id": "d", "phone": "13911112222"}]
        )
        _engine, factory = open_database(server.settings.database_url, migrate=False)
        with factory() as session:
            assert (
                claim_due_contacts(session, "w", dt.datetime.now(dt.UTC), 5, campaign_ids=[campaign["id"]])
                == []
            )
        contact = client.get(f"/v1/campaigns/{campaign['id']}/contacts/d").json()
        assert (contact["state"], contact["final_outcome"]) == ("done", "dnc_blocked")
        assert client.delete("/v1/dnc/+8613911112222").status_code == 403  # removing is for admins
    with server.client() as admin:
        assert admin.delete("/v1/dnc/+8613911112222").status_code == 204
        assert admin.delete("/v1/dnc/+8613911112222").status_code == 404
        assert admin.get("/v1/dnc", params={"phone": "13911112222"}).json()["items"] == []


def test_seats_register_and_availability(server: Server, keys: dict[str, str]) -> None:
    with server.client() as admin:
        seat = admin.post("/v1/seats", json={"uri": "sip:1001@127.0.0.1", "skill_group": "sales"})
        assert seat.status_code == 201 and seat.json()["available"] is False
        assert admin.post("/v1/seats", json={"uri": "not-a-uri"}).json()["detail"][0]["loc"] == [
            "body",
            "uri",
        ]
    with server.client(keys["operator"]) as operator:
        changed = operator.patch(f"/v1/seats/{seat.json()['id']}", json={"available": True})
        assert changed.json()["available"] is True
        available = operator.get("/v1/seats", params={"skill_group": "sales", "available": True}).json()[
            "items"
        ]
        assert [s["uri"] for s in available] == ["sip:1001@127.0.0.1"]
        assert operator.patch("/v1/seats/99999", json={"available": True}).status_code == 404
        assert operator.patch("/v1/seats/99999999999999999999", json={}).status_code == 422


def test_openapi_lists_every_resource(server: Server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    paths = set(spec["paths"])
    for path in (
        "/v1/campaigns",
        "/v1/campaigns/{campaign_id}/contacts",
        "/v1/results",
        "/v1/dnc",
        "/v1/seats",
        "/v1/flows",
        "/v1/keys",
    ):
        assert path in paths
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
