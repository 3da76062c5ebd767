"""Tenants over real HTTP: a key reaches only its own tenant's data; another tenant's is a 404.

Point 7 of the security review: any strategy key could read, pause, cancel, import into and re-grade any
other strategy system's campaigns, and any strategy or operator key could delete a do-not-call entry.
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from tests.conftest import MINIMAL_FLOW
from tests.security.tenants import PHONE_A, YAML, Tenant
from tests.service.helpers import ALL_DAY, Server
from waihu.service.db import open_database
from waihu.service.scheduler import claim_due_contacts
from waihu.service.seats import available_seat

Tenants = tuple[Tenant, Tenant]


def _not_found_like_missing(response: httpx.Response, missing: httpx.Response) -> None:
    """404, word for word the answer for an id that does not exist (no existence oracle)."""
    assert response.status_code == 404, response.text
    assert missing.status_code == 404, missing.text
    assert re.sub(r"[0-9a-f]{32}|\d+", "#", response.text) == re.sub(r"[0-9a-f]{32}|\d+", "#", missing.text)


def test_strategy_key_of_another_tenant_gets_404_for_every_campaign_action(
    tenant_server: Server, tenants: Tenants
) -> None:
    a, b = tenants
    campaign = a.ids["campaign_id"]
    missing = 2**31 - 1
    with tenant_server.client(b.keys["strategy"]) as other:
        for method, path, body in [
            ("GET", "/v1/campaigns/{}", None),
            ("GET", "/v1/campaigns/{}/counters", None),
            ("POST", "/v1/campaigns/{}/pause", None),
            ("POST", "/v1/campaigns/{}/resume", None),
            ("POST", "/v1/campaigns/{}/cancel", None),
            ("GET", "/v1/campaigns/{}/contacts", None),
            ("POST", "/v1/campaigns/{}/contacts", [{"reference_id": "x", "phone": "13800007777"}]),
            ("GET", "/v1/campaigns/{}/contacts/c1", None),
            ("POST", "/v1/campaigns/{}/contacts/c1/grade", {"grade": "A"}),
            ("GET", "/console/api/campaigns/{}/stats", None),
        ]:
            response = other.request(method, path.format(campaign), json=body)
            _not_found_like_missing(response, other.request(method, path.format(missing), json=body))
        for path in (
            f"/v1/results/{a.ids['attempt_id']}",
            f"/console/api/attempts/{a.ids['attempt_id']}/recording",
        ):
            _not_found_like_missing(other.get(path), other.get(path.replace(a.ids["attempt_id"], "f" * 32)))
        assert other.get("/v1/campaigns").json()["items"] == []
        assert other.get("/v1/results").json()["items"] == []
        assert other.get("/v1/results", params={"campaign_id": campaign}).json()["items"] == []
    with tenant_server.client(a.keys["strategy"]) as owner:  # nothing happened to A's campaign
        seen = owner.get(f"/v1/campaigns/{campaign}").json()
        assert seen["state"] in ("scheduling", "executing") and seen["counters"]["total"] == 2
        contact = owner.get(f"/v1/campaigns/{campaign}/contacts/c1").json()
        assert contact["grade"] != "A" or contact["regraded_at"] is None
        assert [r["attempt_id"] for r in owner.get("/v1/results").json()["items"]] == [a.ids["attempt_id"]]


def test_an_admin_of_another_tenant_is_no_stronger(tenant_server: Server, tenants: Tenants) -> None:
    a, b = tenants
    with tenant_server.client(b.keys["admin"]) as other:
        assert other.get(f"/v1/campaigns/{a.ids['campaign_id']}").status_code == 404
        assert other.post(f"/v1/campaigns/{a.ids['campaign_id']}/cancel").status_code == 404
        assert other.patch(f"/v1/seats/{a.ids['seat_id']}", json={"available": True}).status_code == 404
        assert other.get("/v1/seats").json()["items"] == []
        assert other.delete(f"/v1/keys/{a.key_ids['strategy']}").status_code == 404
        assert {k["tenant"] for k in other.get("/v1/keys").json()["items"]} == {"bank-b"}
        assert other.delete("/v1/dnc/13900009999").status_code == 404
        assert other.get("/v1/dnc").json()["items"] == []
    with tenant_server.client(a.keys["strategy"]) as owner:  # A's key still works, its DNC entry is there
        assert owner.get("/v1/dnc", params={"phone": "13900009999"}).json()["items"][0]["reason"] == "asked"


def test_flows_are_per_tenant(tenant_server: Server, tenants: Tenants) -> None:
    a, b = tenants
    with tenant_server.client(b.keys["operator"]) as other:
        assert other.get("/v1/flows").json()["items"] == []
        assert other.get("/v1/flows/mini/versions").status_code == 404
        assert other.get("/v1/flows/mini/versions/1").status_code == 404
        for path in ("info", "kb"):
            assert other.get(f"/console/api/flows/mini/versions/1/{path}").status_code == 404
        assert (
            other.post(
                "/console/api/flows/mini/versions/1/kb/search", json={"question": "多少钱"}
            ).status_code
            == 404
        )
        assert other.post("/console/api/sim", json={"flow_id": "mini", "version": 1}).status_code == 404
    with tenant_server.client(b.keys["strategy"]) as other:  # no campaign on another tenant's flow
        refused = other.post("/v1/campaigns", json={"name": "x", "flow_id": "mini", "windows": ALL_DAY})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "flow_id"]
    with tenant_server.client(a.keys["operator"]) as owner:
        assert owner.get("/console/api/flows/mini/versions/1/info").status_code == 200
        sim = owner.post("/console/api/sim", json={"flow_id": "mini", "version": 1})
        assert sim.status_code == 201, sim.text
    with tenant_server.client(b.keys["operator"]) as other:  # A's simulator session is not B's
        assert (
            other.post(f"/console/api/sim/{sim.json()['session_id']}", json={"text": "好的"}).status_code
            == 404
        )


def test_ids_chosen_by_clients_are_per_tenant(tenant_server: Server, tenants: Tenants) -> None:
    """B may use the flow id and campaign reference id A uses: it gets its own, never A's."""
    a, b = tenants
    with tenant_server.client(b.keys["operator"]) as operator:
        uploaded = operator.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML)
        assert uploaded.status_code == 201 and uploaded.json()["version"] == 1
    with tenant_server.client(b.keys["strategy"]) as strategy:
        body = {"name": "b offer", "reference_id": "ref-1", "flow_id": "mini", "windows": ALL_DAY}
        created = strategy.post("/v1/campaigns", json=body)
        assert created.status_code == 201, created.text  # not A's campaign returned as "already there"
        assert created.json()["id"] != a.ids["campaign_id"] and created.json()["name"] == "b offer"
        again = strategy.post("/v1/campaigns", json=body)
        assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    with tenant_server.client(b.keys["admin"]) as admin:
        seat = admin.post("/v1/seats", json={"uri": "sip:1001@10.0.0.5", "name": "B's"})
        assert seat.status_code == 201 and seat.json()["id"] != a.ids["seat_id"]
    with tenant_server.client(a.keys["admin"]) as owner:
        (a_seat,) = owner.get("/v1/seats").json()["items"]
        assert a_seat["name"] == "" and a_seat["skill_group"] == "sales"


def test_block_lists_per_tenant_and_global(tenant_server: Server, tenants: Tenants) -> None:
    a, b = tenants
    number = "13700001111"
    with tenant_server.client(a.keys["strategy"]) as strategy:
        body = {"name": "dnc", "flow_id": "mini", "windows": ALL_DAY}
        a_campaign = strategy.post("/v1/campaigns", json=body).json()["id"]
        strategy.post(f"/v1/campaigns/{a_campaign}/contacts", json=[{"reference_id": "n", "phone": number}])
        assert strategy.post("/v1/dnc", json={"phone": number}).status_code == 201
        refused = strategy.post("/v1/dnc", json={"phone": "13700002222", "scope": "global"})
        assert refused.status_code == 403 and refused.json()["detail"][0]["loc"] == ["body", "scope"]
    with tenant_server.client(b.keys["strategy"]) as strategy:
        b_campaign = strategy.post("/v1/campaigns", json=body | {"name": "b dnc"}).json()["id"]
        contacts = [{"reference_id": "n", "phone": number}, {"reference_id": "g", "phone": "13700002222"}]
        strategy.post(f"/v1/campaigns/{b_campaign}/contacts", json=contacts)
        assert strategy.get("/v1/dnc", params={"phone": number}).json()["items"] == []
    with tenant_server.client(tenant_server.platform_key) as platform:
        listed = platform.post(
            "/v1/dnc", json={"phone": "13700002222", "scope": "global", "reason": "regulator"}
        )
        assert listed.status_code == 201 and listed.json()["scope"] == "global"
    with tenant_server.client(a.keys["admin"]) as admin:
        assert admin.post("/v1/dnc", json={"phone": "13700002222", "scope": "global"}).status_code == 403
        assert admin.delete("/v1/dnc/13700002222", params={"scope": "global"}).status_code == 403
        assert admin.get("/v1/dnc", params={"scope": "global"}).json()["items"][0]["reason"] == "regulator"
    engine, factory = open_database(tenant_server.settings.database_url, migrate=False)
    try:
        with factory() as session:
            now = dt.datetime.now(dt.UTC)
            claimed = claim_due_contacts(session, "w", now, 10, campaign_ids=[a_campaign, b_campaign])
    finally:
        engine.dispose()
    # A's entry blocks A's contact only; the global entry blocks B's; B's other contact is dialled.
    assert [(c.campaign_id, c.reference_id) for c in claimed] == [(b_campaign, "n")]
    with tenant_server.client(a.keys["strategy"]) as strategy:
        contact = strategy.get(f"/v1/campaigns/{a_campaign}/contacts/n").json()
        assert contact["final_outcome"] == "dnc_blocked"
    with tenant_server.client(b.keys["strategy"]) as strategy:
        contact = strategy.get(f"/v1/campaigns/{b_campaign}/contacts/g").json()
        assert contact["final_outcome"] == "dnc_blocked"
    with tenant_server.client(tenant_server.platform_key) as platform:
        assert platform.delete("/v1/dnc/13700002222", params={"scope": "global"}).status_code == 204
        assert platform.delete("/v1/dnc/13700002222", params={"scope": "global"}).status_code == 404


@pytest.mark.parametrize("role", ["strategy", "operator"])
def test_only_admins_remove_block_list_entries(tenant_server: Server, tenants: Tenants, role: str) -> None:
    a, _b = tenants
    with tenant_server.client(a.keys[role]) as client:
        assert client.post("/v1/dnc", json={"phone": "13600003333"}).status_code in (200, 201)
        assert client.delete("/v1/dnc/13600003333").status_code == 403
    with tenant_server.client(a.keys["admin"]) as admin:
        assert admin.get("/v1/dnc", params={"phone": "13600003333"}).json()["items"] != []


def test_keys_stay_in_their_tenant_unless_a_platform_admin_makes_them(
    tenant_server: Server, tenants: Tenants
) -> None:
    a, b = tenants
    with tenant_server.client(a.keys["admin"]) as admin:
        mine = admin.post("/v1/keys", json={"name": "crm", "role": "strategy"})
        assert mine.status_code == 201 and mine.json()["tenant"] == "bank-a"
        elsewhere = admin.post("/v1/keys", json={"name": "x", "role": "admin", "tenant": "bank-b"})
        assert elsewhere.status_code == 403 and elsewhere.json()["detail"][0]["loc"] == ["body", "tenant"]
        platform = admin.post("/v1/keys", json={"name": "x", "role": "admin", "platform_admin": True})
        assert platform.status_code == 403
        bad = admin.post("/v1/keys", json={"name": "x", "role": "admin", "tenant": "../Bank B"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "tenant"]
        assert {k["tenant"] for k in admin.get("/v1/keys").json()["items"]} == {"bank-a"}
        assert admin.get("/v1/keys", params={"tenant": "bank-b"}).json()["items"] == []
    with tenant_server.client(tenant_server.platform_key) as platform:
        created = platform.post("/v1/keys", json={"name": "new unit", "role": "admin", "tenant": "bank-c"})
        assert created.status_code == 201 and created.json()["tenant"] == "bank-c"
        assert {k["tenant"] for k in platform.get("/v1/keys").json()["items"]} >= {
            "bank-a",
            "bank-b",
            "bank-c",
        }
        not_admin = platform.post("/v1/keys", json={"name": "x", "role": "strategy", "platform_admin": True})
        assert not_admin.status_code == 422
        assert platform.delete(f"/v1/keys/{b.key_ids['operator']}").status_code == 204
    with tenant_server.client(b.keys["operator"]) as revoked:
        assert revoked.get("/v1/flows").status_code == 401
    with tenant_server.client(created.json()["key"]) as new_admin:
        who = new_admin.get("/console/api/whoami").json()
        assert (who["tenant"], who["role"], who["platform_admin"]) == ("bank-c", "admin", False)
        assert new_admin.get("/v1/campaigns").json()["items"] == []


def test_operator_keys_see_numbers_masked_and_others_in_full(tenant_server: Server, tenants: Tenants) -> None:
    a, _b = tenants
    with tenant_server.client(a.keys["operator"]) as operator:
        added = operator.post("/v1/dnc", json={"phone": PHONE_A})
        assert added.json()["phone"] == "+86138****1234"
        listed = operator.get("/v1/dnc", params={"phone": PHONE_A}).json()["items"]
        assert [item["phone"] for item in listed] == ["+86138****1234"]
    for role in ("strategy", "admin"):
        with tenant_server.client(a.keys[role]) as client:
            listed = client.get("/v1/dnc", params={"phone": PHONE_A}).json()["items"]
            assert [item["phone"] for item in listed] == [PHONE_A]
            result = client.get(f"/v1/results/{a.ids['attempt_id']}").json()
            assert result["phone"] == PHONE_A
            contact = client.get(f"/v1/campaigns/{a.ids['campaign_id']}/contacts/c1").json()
            assert contact["phone"] == PHONE_A and contact["attempts_detail"][0]["phone"] == PHONE_A


def test_the_scheduler_serves_every_tenant_and_tells_the_worker_whose_call_it_is(
    tenant_server: Server, tenants: Tenants
) -> None:
    """The worker is trusted: it claims across tenants; each claim names its tenant, and a transfer
    looks for a seat of that tenant only."""
    a, b = tenants
    with tenant_server.client(b.keys["admin"]) as admin:
        assert admin.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML).status_code in (200, 201)
    with tenant_server.client(b.keys["strategy"]) as strategy:
        body = {"name": "b calls", "flow_id": "mini", "windows": ALL_DAY}
        b_campaign = strategy.post("/v1/campaigns", json=body).json()["id"]
        strategy.post(
            f"/v1/campaigns/{b_campaign}/contacts", json=[{"reference_id": "x", "phone": "13300001111"}]
        )
    with tenant_server.client(a.keys["strategy"]) as strategy:
        a_campaign = strategy.post("/v1/campaigns", json=body | {"name": "a calls"}).json()["id"]
        strategy.post(
            f"/v1/campaigns/{a_campaign}/contacts", json=[{"reference_id": "x", "phone": "13300002222"}]
        )
    with tenant_server.client(a.keys["admin"]) as admin:
        admin.post("/v1/seats", json={"uri": "sip:9@a", "skill_group": "default", "available": True})
    engine, factory = open_database(tenant_server.settings.database_url, migrate=False)
    try:
        with factory() as session:
            claims = claim_due_contacts(
                session, "w", dt.datetime.now(dt.UTC), 10, campaign_ids=[a_campaign, b_campaign]
            )
            assert {(c.campaign_id, c.tenant) for c in claims} == {
                (a_campaign, "bank-a"),
                (b_campaign, "bank-b"),
            }
            seat_a = available_seat(session, "bank-a", "default")
            assert seat_a is not None and seat_a.uri == "sip:9@a"
            assert available_seat(session, "bank-b", "default") is None  # never A's agent for B's call
    finally:
        engine.dispose()


def test_metrics_with_a_key_count_the_keys_tenant_only(tenant_server: Server, tenants: Tenants) -> None:
    a, b = tenants

    def answered(key: str) -> int:
        with tenant_server.client(key) as client:
            response = client.get("/metrics")
        assert response.status_code == 200, response.text
        text = response.text
        return sum(  # one series per campaign
            int(float(line.split()[-1]))
            for line in text.splitlines()
            if line.startswith("waihu_calls_total{") and 'outcome="answered"' in line
        )

    assert answered(a.keys["strategy"]) >= 1
    assert answered(b.keys["strategy"]) == 0
    assert answered(tenant_server.platform_key) >= answered(a.keys["strategy"])
