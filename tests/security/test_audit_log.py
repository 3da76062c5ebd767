"""The audit log over real HTTP: every change by a key is recorded (who, when, what, before/after),
secrets and phone numbers masked, readable by admins of the tenant only."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import MINIMAL_FLOW
from tests.security.tenants import YAML, Tenant
from tests.service.helpers import ALL_DAY, Server
from waihu.service.db import open_database
from waihu.service.models import AuditEntry

Tenants = tuple[Tenant, Tenant]
SECRET = "Zq8vN3xK1mR7tL0pW5yH2cJ9bF4gD6sA"


def _entries(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", params=params | {"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _one(entries: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [entry for entry in entries if entry["action"] == action]
    assert found, f"no {action} in {[e['action'] for e in entries]}"
    return found[0]


def test_every_kind_of_change_is_recorded_with_who_what_and_before_after(
    tenant_server: Server, tenants: Tenants
) -> None:
    a, _b = tenants
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    campaign = a.ids["campaign_id"]
    with tenant_server.client(a.keys["operator"]) as operator:
        assert (
            operator.post(
                "/v1/flows", content=MINIMAL_FLOW.replace("Mini", "Mini 2"), headers=YAML
            ).status_code
            == 201
        )
        assert (
            operator.post("/v1/dnc", json={"phone": "+86 139 0000 4444", "reason": "asked"}).status_code
            == 201
        )
        assert operator.patch(f"/v1/seats/{a.ids['seat_id']}", json={"available": True}).status_code == 200
    with tenant_server.client(a.keys["strategy"]) as strategy:
        body = {
            "name": "audited",
            "flow_id": "mini",
            "windows": ALL_DAY,
            "webhook_url": "https://8.8.8.8/hook",
            "webhook_secret": SECRET,
        }
        created = strategy.post("/v1/campaigns", json=body)
        assert created.status_code == 201, created.text
        new_id = created.json()["id"]
        for verb in ("pause", "resume", "cancel"):
            assert strategy.post(f"/v1/campaigns/{new_id}/{verb}").status_code == 200
        assert strategy.post(f"/v1/campaigns/{new_id}/pause").status_code == 409  # refused: no entry
        rows = [{"reference_id": f"r{i}", "phone": f"1380000{i:04d}"} for i in range(3)] + [{"phone": "x"}]
        assert strategy.post(f"/v1/campaigns/{campaign}/contacts", json=rows).status_code == 200
        graded = strategy.post(
            f"/v1/campaigns/{campaign}/contacts/c2/grade", json={"grade": "B", "note": "call back"}
        )
        assert graded.status_code == 200
    with tenant_server.client(a.keys["admin"]) as admin:
        key = admin.post("/v1/keys", json={"name": "temp", "role": "operator"}).json()
        assert admin.delete(f"/v1/keys/{key['id']}").status_code == 204
        seat = admin.post("/v1/seats", json={"uri": "sip:2002@10.0.0.6", "skill_group": "vip"}).json()
        assert admin.delete("/v1/dnc/13900004444").status_code == 204
        entries = _entries(admin, since=started.isoformat())

    actions = [entry["action"] for entry in entries]
    for action in (
        "flow.upload",
        "dnc.add",
        "seat.update",
        "campaign.create",
        "campaign.pause",
        "campaign.resume",
        "campaign.cancel",
        "contacts.import",
        "contact.regrade",
        "key.create",
        "key.revoke",
        "seat.register",
        "dnc.remove",
    ):
        assert action in actions, (action, actions)
    assert actions.count("campaign.pause") == 1  # the 409 changed nothing and left no entry
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)  # newest first

    paused = _one(entries, "campaign.pause")
    assert paused["actor"] == {
        "key_id": a.key_ids["strategy"],
        "name": "bank-a strategy",
        "role": "strategy",
        "tenant": "bank-a",
    }
    assert (paused["resource_type"], paused["resource_id"], paused["tenant"]) == (
        "campaign",
        str(new_id),
        "bank-a",
    )
    assert paused["before"] == {"state": "scheduling"} and paused["after"] == {"state": "paused"}
    assert dt.datetime.fromisoformat(paused["at"]) >= started

    made = _one(entries, "campaign.create")
    text = json.dumps(made)
    assert SECRET not in text
    assert made["after"]["webhook_url"] == "https://8.8.8.8/hook" and made["before"] is None

    imported = _one(entries, "contacts.import")
    assert imported["after"] == {"received": 4, "created": 3, "existing": 0, "rejected": 1, "region": "CN"}
    assert "13800000001" not in json.dumps(imported)

    regraded = _one(entries, "contact.regrade")
    assert regraded["resource_id"] == f"{campaign}/c2"
    assert regraded["after"] == {"grade": "B", "label": "", "note": "call back"}

    added, removed = _one(entries, "dnc.add"), _one(entries, "dnc.remove")
    assert added["after"]["phone"] == removed["before"]["phone"] == "+86139****4444"
    assert "13900004444" not in json.dumps(entries)
    assert added["actor"]["role"] == "operator" and removed["actor"]["role"] == "admin"

    made_key = _one(entries, "key.create")
    assert key["key"] not in json.dumps(entries) and made_key["after"]["role"] == "operator"
    assert _one(entries, "key.revoke")["after"]["revoked_at"] is not None
    assert _one(entries, "seat.register")["resource_id"] == str(seat["id"])
    seat_update = _one(entries, "seat.update")
    assert (seat_update["before"]["available"], seat_update["after"]["available"]) == (False, True)
    assert _one(entries, "flow.upload")["resource_id"] == "mini@2"


def test_filters_and_pages(tenant_server: Server, tenants: Tenants) -> None:
    a, _b = tenants
    with tenant_server.client(a.keys["strategy"]) as strategy:
        for i in range(5):
            strategy.post("/v1/dnc", json={"phone": f"1350000{i:04d}"})
    with tenant_server.client(a.keys["admin"]) as admin:
        dnc = _entries(admin, resource="dnc")
        assert len(dnc) >= 5 and {e["resource_type"] for e in dnc} == {"dnc"}
        assert {e["action"] for e in _entries(admin, action="campaign.")} <= {
            "campaign.create",
            "campaign.pause",
            "campaign.resume",
            "campaign.cancel",
        }
        assert {e["action"] for e in _entries(admin, action="dnc.add")} == {"dnc.add"}
        future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        assert _entries(admin, since=future) == []
        first = admin.get("/v1/audit", params={"limit": 2}).json()
        second = admin.get("/v1/audit", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert len(first["items"]) == 2 and first["items"][-1]["id"] > second["items"][0]["id"]
        naive = admin.get("/v1/audit", params={"since": "2026-01-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["query", "since"]
        assert admin.get("/v1/audit", params={"cursor": "nope"}).status_code == 422


def test_only_admins_read_it_and_only_their_tenant(tenant_server: Server, tenants: Tenants) -> None:
    a, b = tenants
    for role in ("strategy", "operator"):
        with tenant_server.client(a.keys[role]) as client:
            assert client.get("/v1/audit").status_code == 403
    with tenant_server.client(b.keys["admin"]) as other:
        other.post("/v1/dnc", json={"phone": "13400001111"})
        seen = _entries(other)
        assert seen and {(e["tenant"], e["actor"]["tenant"]) for e in seen} <= {
            ("bank-b", "bank-b"),
            ("bank-b", "platform"),
        }
        assert _entries(other, tenant="bank-a") == []
    with tenant_server.client(tenant_server.platform_key) as platform:
        everything = _entries(platform)
        assert {"bank-a", "bank-b"} <= {e["tenant"] for e in everything}
        assert {e["tenant"] for e in _entries(platform, tenant="bank-a")} == {"bank-a"}


def test_the_cli_records_the_keys_it_makes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "waihu.cli",
            "keys",
            "create",
            "--role",
            "admin",
            "--name",
            "ops",
            "--tenant",
            "bank-z",
            "--platform-admin",
            "--db",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("whk_")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "waihu.cli",
            "keys",
            "create",
            "--role",
            "admin",
            "--tenant",
            "Bank Z",
            "--db",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "--tenant" in bad.stderr
    engine, factory = open_database(url, migrate=False)
    try:
        with factory() as session:
            (entry,) = session.query(AuditEntry).all()
    finally:
        engine.dispose()
    assert (entry.action, entry.actor_role, entry.actor_key_id, entry.tenant) == (
        "key.create",
        "cli",
        None,
        "bank-z",
    )
    assert entry.after["platform_admin"] is True and token not in json.dumps(entry.after)
