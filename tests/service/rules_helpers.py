"""Helpers of the campaign-rule tests: keys per role and tenant, campaigns over HTTP, answered results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from dialog.state import CallResult, Turn
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, Server
from waihu.call_record import CallRecord
from waihu.service.db import open_database
from waihu.service.policy import zone
from waihu.service.scheduler import Claim, claim_due_contacts, record_result

SHANGHAI = zone("Asia/Shanghai")


def future_monday(hour: int = 10, minute: int = 0, weeks: int = 2) -> dt.datetime:
    """A Monday at ``hour``:``minute`` in Shanghai at least ``weeks`` weeks after the real now (so that
    contacts imported now are due then, whatever day the tests run), in UTC."""
    today = dt.datetime.now(SHANGHAI).date()
    monday = today + dt.timedelta(days=7 * weeks - today.weekday())
    return dt.datetime.combine(monday, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(dt.UTC)


def tenant_key(server: Server, tenant: str, role: str = "strategy") -> str:
    """A new key of ``tenant`` with ``role`` (made by the platform admin)."""
    with server.client(server.platform_key) as platform:
        response = platform.post(
            "/v1/keys", json={"name": f"{tenant} {role}", "role": role, "tenant": tenant}
        )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def strategy_keys(server: Server, tenant: str) -> str:
    """A strategy key of ``tenant``."""
    return tenant_key(server, tenant)


def admin_key(server: Server, tenant: str) -> str:
    """An admin key of ``tenant`` (reads the tenant's audit log)."""
    return tenant_key(server, tenant, "admin")


def upload_flow(server: Server, tenant: str) -> None:
    """The minimal flow, uploaded into ``tenant`` by an operator of it."""
    with server.client(tenant_key(server, tenant, "operator")) as client:
        response = client.post(
            "/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"}
        )
    assert response.status_code in (200, 201), response.text


def new_campaign(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """A campaign on the minimal flow, open all day (Shanghai) unless overridden."""
    body = {"name": "c", "flow_id": "mini", "windows": ALL_DAY, "timezone": "Asia/Shanghai"} | overrides
    response = client.post("/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def import_phones(client: httpx.Client, campaign_id: int, phones: dict[str, str]) -> None:
    """Import reference id → phone."""
    rows = [{"reference_id": ref, "phone": phone} for ref, phone in phones.items()]
    response = client.post(f"/v1/campaigns/{campaign_id}/contacts", json=rows)
    assert response.status_code == 200 and response.json()["created"] == len(rows), response.text


def db(server: Server) -> sessionmaker[Session]:
    """A session factory on the server's database (the worker's side of the scheduler)."""
    return open_database(server.settings.database_url, migrate=False)[1]


def claim(factory: sessionmaker[Session], campaign_id: int, now: dt.datetime, limit: int = 10) -> list[Claim]:
    """Claim like a worker would."""
    with factory() as session:
        return claim_due_contacts(session, "rules-test", now, limit, campaign_ids=[campaign_id])


def answered(
    grade: str = "C",
    tags: list[str] | None = None,
    said: str = "",
    intent: str = "affirm",
    entities: dict[str, str] | None = None,
) -> CallRecord:
    """An answered call's result with one turn in which the callee said ``said``."""
    trace = [
        Turn(index=0, node="ask", kind="utterance", utterance=said, intent=intent, entities=entities or {})
    ]
    call = CallResult(
        flow_id="mini",
        flow_version=1,
        outcome="callee_hangup",
        hangup_reason=None,
        grade=grade,
        grade_label="",
        tags=tags or [],
        dnc=False,
        rounds=1,
        kb_hits=[],
        visited=["ask"],
        barge_ins=0,
        trace=trace,
    )
    return CallRecord(outcome="answered", sip_code=200, conversation=call)


def finish(factory: sessionmaker[Session], attempt_id: str, result: CallRecord, now: dt.datetime) -> None:
    """Record ``result`` at ``now``, answered a minute earlier when it was answered."""
    if result.outcome == "answered":
        result.answer_at = now - dt.timedelta(minutes=1)
    with factory() as session:
        record_result(session, attempt_id, result, now)
