"""Two tenants on one live server, with data in the first: what the tenancy, audit and matrix tests use."""

from __future__ import annotations

import datetime as dt
import io
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, Server
from waihu.call_record import CallRecord
from waihu.console.config import ConsoleConfig
from waihu.console.state import ConsoleState
from waihu.service.db import open_database
from waihu.service.scheduler import claim_due_contacts, record_result

YAML = {"Content-Type": "application/yaml"}
ROLES = ("admin", "strategy", "operator")
#: A's first contact's number (a valid CN mobile number) and how an operator sees it.
PHONE_A = "+8613800001234"
PHONE_A_MASKED = "+86138****1234"


@dataclass
class Tenant:
    """One tenant's keys (by role) and ids of what was made in it."""

    name: str
    keys: dict[str, str]
    key_ids: dict[str, str]
    ids: dict[str, Any] = field(default_factory=dict)


def _keys(platform: httpx.Client, tenant: str) -> tuple[dict[str, str], dict[str, str]]:
    keys, ids = {}, {}
    for role in ROLES:
        response = platform.post(
            "/v1/keys", json={"name": f"{tenant} {role}", "role": role, "tenant": tenant}
        )
        assert response.status_code == 201, response.text
        keys[role], ids[role] = response.json()["key"], response.json()["id"]
    return keys, ids


class SilentSpeech:
    """Stands in for the console's TTS: a tenth of a second of silence, no model loaded."""

    def wav(self, text: str, language: str) -> bytes:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\0\0" * 800)
        return buffer.getvalue()


def light_console(server: Server, recordings_dir: Path | None = None) -> None:
    """Give ``server``'s console the rules NLU and :class:`SilentSpeech` (no models to load)."""
    state = ConsoleState.from_config(ConsoleConfig(classifier_kind="rules", recordings_dir=recordings_dir))
    state.speech = SilentSpeech()  # type: ignore[assignment]
    server.app.state.console = state


def finish_one_call(server: Server, campaign_id: int, recording_path: str | None = None) -> str:
    """Claim one due contact of ``campaign_id`` as a worker would and record an answered call."""
    engine, factory = open_database(server.settings.database_url, migrate=False)
    try:
        with factory() as session:
            now = dt.datetime.now(dt.UTC)
            (claim,) = claim_due_contacts(session, "tenant-test", now, 1, campaign_ids=[campaign_id])
            record_result(
                session,
                claim.attempt_id,
                CallRecord(
                    "answered",
                    sip_code=200,
                    answer_at=now,
                    end_at=now + dt.timedelta(seconds=9),
                    recording_path=recording_path,
                ),
                now=now,
            )
        return claim.attempt_id
    finally:
        engine.dispose()


def seed_tenant(server: Server, tenant: Tenant, recording_path: str | None = None) -> None:
    """A flow, a campaign with two contacts and one finished call, a seat and a DNC entry in ``tenant``."""
    with server.client(tenant.keys["operator"]) as operator:
        flow = operator.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML)
        assert flow.status_code == 201, flow.text
    with server.client(tenant.keys["strategy"]) as strategy:
        body = {
            "name": f"{tenant.name} offer",
            "reference_id": "ref-1",
            "flow_id": "mini",
            "windows": ALL_DAY,
        }
        campaign = strategy.post("/v1/campaigns", json=body)
        assert campaign.status_code == 201, campaign.text
        campaign_id = campaign.json()["id"]
        contacts = [{"reference_id": "c1", "phone": PHONE_A}, {"reference_id": "c2", "phone": "13800005678"}]
        imported = strategy.post(f"/v1/campaigns/{campaign_id}/contacts", json=contacts)
        assert imported.json()["created"] == 2, imported.text
        assert strategy.post("/v1/dnc", json={"phone": "13900009999", "reason": "asked"}).status_code == 201
    attempt_id = finish_one_call(server, campaign_id, recording_path)
    with server.client(tenant.keys["admin"]) as admin:
        seat = admin.post("/v1/seats", json={"uri": "sip:1001@10.0.0.5", "skill_group": "sales"})
        assert seat.status_code == 201, seat.text
    tenant.ids.update(campaign_id=campaign_id, attempt_id=attempt_id, seat_id=seat.json()["id"])


def make_tenants(server: Server, recording_path: str | None = None) -> tuple[Tenant, Tenant]:
    """Tenants ``bank-a`` (seeded; its call recorded at ``recording_path``) and ``bank-b`` (keys only),
    made by the platform admin."""
    with server.client(server.platform_key) as platform:
        a = Tenant("bank-a", *_keys(platform, "bank-a"))
        b = Tenant("bank-b", *_keys(platform, "bank-b"))
    seed_tenant(server, a, recording_path)
    return a, b
