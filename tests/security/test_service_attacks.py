"""Attacks on the HTTP API over real HTTP: each test reproduces a reported hole and checks it stays shut.

Points of the security review: 3 (server files read through a flow), 4 (YAML/JSON bombs), 5 (do-not-call
bypass with other digit spellings), 6 (SSRF through webhooks), 10 (body limit, /metrics, recordings, seats).
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MINIMAL_FLOW
from tests.security.conftest import make_server
from tests.service.helpers import ALL_DAY, Server, make_campaign
from waihu.service.db import open_database
from waihu.service.models import Attempt, Contact, utcnow
from waihu.service.scheduler import claim_due_contacts

YAML = {"Content-Type": "application/yaml"}
KB_SECRET = "- id: leaked\n  questions: [TOPSECRET-QUESTION]\n  answer: TOPSECRET-ANSWER\n"


def _flow_with_kb(reference: str) -> str:
    head, _sep, _tail = MINIMAL_FLOW.partition("knowledge_base:")
    tail = MINIMAL_FLOW.split("    answer: 免费的。\n", 1)[1]
    return head + f"knowledge_base: {{file: {reference}}}\n" + tail


def _campaign(client: httpx.Client, **overrides: Any) -> httpx.Response:
    body = {"name": "c", "flow_id": "mini", "windows": ALL_DAY, "timezone": "Asia/Shanghai"} | overrides
    return client.post("/v1/campaigns", json=body)


@pytest.fixture(scope="module")
def mini(strict_server: Server, role_keys: dict[str, str]) -> dict[str, Any]:
    """The minimal flow uploaded to the strict server."""
    with strict_server.client(role_keys["operator"]) as operator:
        response = operator.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML)
    assert response.status_code in (200, 201), response.text
    return response.json()


# --- 3. Server-side file read through a flow ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "missing", "relative"])
def test_uploaded_flow_cannot_reference_server_files(
    strict_server: Server, role_keys: dict[str, str], tmp_path: Path, kind: str
) -> None:
    secret = tmp_path / "secret_kb.yaml"
    secret.write_text(KB_SECRET, encoding="utf-8")
    reference = {
        "absolute": str(secret),
        "dotdot": "../" * 12 + str(secret).lstrip("/"),
        "missing": str(tmp_path / "nope.yaml"),
        "relative": "secret_kb.yaml",
    }[kind]
    text = _flow_with_kb(reference)
    with strict_server.client(role_keys["operator"]) as operator:
        upload = operator.post("/v1/flows", content=text, headers=YAML)
        validated = operator.post("/console/api/flows/validate", json={"yaml": text, "filename": "f.yaml"})
        table = operator.post("/console/api/flows/table", json={"yaml": text})
        for response in (upload, validated, table):
            assert "TOPSECRET" not in response.text
            assert "not found" not in response.text  # no file-existence oracle
        assert upload.status_code == 422, upload.text
        problems = upload.json()["detail"]["problems"]
        assert any("knowledge_base.file" in p and "cannot reference files" in p for p in problems), problems
        assert problems[0].startswith("flow.yaml:")
        assert validated.status_code == 200 and validated.json()["ok"] is False
        assert any("knowledge_base.file" in p["text"] for p in validated.json()["problems"])
        assert table.status_code == 422 and "knowledge_base.file" in table.text
        assert operator.get("/console/api/flows/mini/versions/99/kb").status_code == 404


def test_uploaded_flow_cannot_reference_audio_files(strict_server: Server, role_keys: dict[str, str]) -> None:
    text = MINIMAL_FLOW.replace(
        "    prompt: 好的，再见。\n", "    prompt: 好的，再见。\n    audio: /etc/hostname\n"
    )
    with strict_server.client(role_keys["operator"]) as operator:
        upload = operator.post("/v1/flows", content=text, headers=YAML)
    assert upload.status_code == 422
    problems = upload.json()["detail"]["problems"]
    assert any("nodes.bye.audio" in p and "cannot reference files" in p for p in problems), problems


def test_answer_table_is_not_for_strategy_keys(strict_server: Server, role_keys: dict[str, str]) -> None:
    with strict_server.client(role_keys["strategy"]) as strategy:
        refused = strategy.post("/console/api/flows/table", json={"yaml": MINIMAL_FLOW})
    assert refused.status_code == 403
    with strict_server.client(role_keys["operator"]) as operator:
        assert operator.post("/console/api/flows/table", json={"yaml": MINIMAL_FLOW}).status_code == 200


# --- 4. YAML alias bombs, recursion and deep nesting; deep JSON -----------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A mapping alias bomb: ``width ** levels`` leaves in under a kilobyte."""
    keys = "abcdefghijklmnopqrstuvwxyz"[:width]
    lines = ["l0: &l0 {" + ", ".join(f"{k}: 1" for k in keys) + "}"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} {{" + ", ".join(f"{k}: *l{level - 1}" for k in keys) + "}")
    return "\n".join(lines) + "\n"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_alias_bomb_is_refused_fast_with_bounded_memory(
    strict_server: Server, role_keys: dict[str, str]
) -> None:
    bomb = alias_bomb()
    assert len(bomb.encode()) < 1000
    before = _peak_rss_mb()
    started = time.monotonic()
    with strict_server.client(role_keys["operator"]) as operator:
        upload = operator.post("/v1/flows", content=bomb, headers=YAML)
        validated = operator.post("/console/api/flows/validate", json={"yaml": bomb})
        tests = operator.post(
            "/console/api/flows/tests", json={"flow_yaml": MINIMAL_FLOW, "tests_yaml": bomb}
        )
    assert time.monotonic() - started < 10
    assert _peak_rss_mb() - before < 200
    assert upload.status_code == 422, upload.text
    assert "alias" in json.dumps(upload.json()), upload.text
    assert upload.json()["detail"]["problems"][0].startswith("flow.yaml:")
    assert validated.status_code == 200 and validated.json()["ok"] is False
    assert "alias" in validated.json()["problems"][0]["text"]
    assert tests.status_code == 422 and "alias" in tests.text


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("recursive alias", "flow: &a [*a]\n", "recursive alias"),
        ("recursive mapping", "flow: &a {x: *a}\n", "recursive alias"),
        ("deep sequence", "flow: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),
        ("deep mapping", "flow: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nested deeper"),
        (
            "deep block",
            "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n",
            "nested deeper",
        ),
    ],
)
def test_recursive_and_deep_yaml_answers_422(
    strict_server: Server, role_keys: dict[str, str], name: str, text: str, message: str
) -> None:
    with strict_server.client(role_keys["operator"]) as operator:
        upload = operator.post("/v1/flows", content=text, headers=YAML)
        validated = operator.post("/console/api/flows/validate", json={"yaml": text})
        table = operator.post("/console/api/flows/table", json={"yaml": text})
    assert upload.status_code == 422, (name, upload.status_code, upload.text[:300])
    problem = upload.json()["detail"]["problems"][0]
    assert problem.startswith("flow.yaml:") and message in problem, problem
    assert validated.status_code == 200 and message in validated.json()["problems"][0]["text"]
    assert table.status_code == 422


def test_flow_over_one_megabyte_is_refused(strict_server: Server, role_keys: dict[str, str]) -> None:
    big = MINIMAL_FLOW + "# " + "x" * (1024 * 1024) + "\n"
    with strict_server.client(role_keys["operator"]) as operator:
        upload = operator.post("/v1/flows", content=big, headers=YAML)
        validated = operator.post("/console/api/flows/validate", json={"yaml": big})
    assert upload.status_code == 413 and upload.json()["detail"][0]["loc"] == ["body"]
    assert validated.status_code == 422 and "yaml" in validated.text


def test_deeply_nested_json_import_is_a_clean_4xx(
    strict_server: Server, role_keys: dict[str, str], mini: dict[str, Any]
) -> None:
    with strict_server.client(role_keys["strategy"]) as strategy:
        campaign = _campaign(strategy).json()
        url = f"/v1/campaigns/{campaign['id']}/contacts"
        json_headers = {"Content-Type": "application/json"}
        for depth in (100, 100_000):
            body = "[" * depth + "]" * depth
            response = strategy.post(url, content=body, headers=json_headers)
            assert response.status_code == 422, (depth, response.status_code, response.text[:200])
            assert "nested deeper" in response.text
            files = {"file": ("c.json", body.encode(), "application/json")}
            upload = strategy.post(url, files=files)
            assert upload.status_code == 422 and "nested deeper" in upload.text
        nested_var = {
            "reference_id": "n",
            "phone": "13800001111",
            "variables": {"v": json.loads("[" * 60 + "]" * 60)},
        }
        assert strategy.post(url, json=[nested_var]).status_code == 422
        other = strategy.post("/v1/campaigns", content="[" * 100_000 + "]" * 100_000, headers=json_headers)
        assert other.status_code in (400, 422) and "nested deeper" in other.text


# --- 5. Do-not-call bypass with other spellings of a number ------------------------------------------

SPELLINGS = [
    "13800009999",
    "１３８００００９９９９",  # full-width digits
    "١٣٨٠٠٠٠٩٩٩٩",  # Arabic-Indic digits
    "۱۳۸۰۰۰۰۹۹۹۹",  # extended Arabic-Indic (Persian) digits
    "138 0000 9999",
    "138-0000-9999",
    "+86 138 0000 9999",
    "+86-138-0000-9999",
    "0086 138 0000 9999",
    "008613800009999",
    "＋８６１３８００００９９９９",  # full-width plus too
    "(+86) 138.0000.9999",
]


def test_every_spelling_of_a_blocked_number_is_blocked(
    strict_server: Server, role_keys: dict[str, str], mini: dict[str, Any]
) -> None:
    with strict_server.client(role_keys["strategy"]) as strategy:
        assert strategy.post("/v1/dnc", json={"phone": "１３８００００９９９９"}).status_code == 201
        for spelling in SPELLINGS:
            found = strategy.get("/v1/dnc", params={"phone": spelling}).json()["items"]
            assert [row["phone"] for row in found] == ["+8613800009999"], spelling
        campaign = _campaign(strategy).json()
        rows = [{"reference_id": f"s{i}", "phone": phone} for i, phone in enumerate(SPELLINGS)]
        report = strategy.post(f"/v1/campaigns/{campaign['id']}/contacts", json=rows).json()
        # one contact; every other spelling is the same number, refused as a duplicate in the campaign
        assert report["created"] == 1, report["errors"]
        refused = {(e["field"], e["reference_id"]) for e in report["errors"]}
        assert refused == {("phone", f"s{i}") for i in range(1, len(SPELLINGS))}
        contacts = strategy.get(f"/v1/campaigns/{campaign['id']}/contacts", params={"limit": 100}).json()
        assert {c["phone"] for c in contacts["items"]} == {"+8613800009999"}
    _engine, factory = open_database(strict_server.settings.database_url, migrate=False)
    with factory() as session:
        claims = claim_due_contacts(
            session, "attacker", dt.datetime.now(dt.UTC), 100, campaign_ids=[campaign["id"]]
        )
        assert claims == []  # none dialled
        outcomes = {c.final_outcome for c in session.query(Contact).filter_by(campaign_id=campaign["id"])}
    assert outcomes == {"dnc_blocked"}


@pytest.mark.parametrize(
    "phone",
    [
        "13800001234x",
        "1380000123",
        "12345678",
        "+0123456789",
        "1-800-FLOWERS",
        "138\u200b00001234",
        "+86 138 0000 1234 ext 9",
        "9" * 40,
    ],
)
def test_invalid_numbers_are_refused(
    strict_server: Server, role_keys: dict[str, str], mini: dict[str, Any], phone: str
) -> None:
    with strict_server.client(role_keys["strategy"]) as strategy:
        campaign = _campaign(strategy).json()
        report = strategy.post(
            f"/v1/campaigns/{campaign['id']}/contacts", json=[{"reference_id": "x", "phone": phone}]
        )
        assert report.status_code == 200 and report.json()["created"] == 0, report.text
        assert report.json()["errors"][0]["field"] == "phone"
        added = strategy.post("/v1/dnc", json={"phone": phone})
        assert added.status_code == 422 and added.json()["detail"][0]["loc"] == ["body", "phone"]


# --- 6. SSRF through webhooks ---------------------------------------------------------------------------

REFUSED_DESTINATIONS = [
    "http://93.184.216.34/hook",  # plain HTTP without the server setting
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://169.254.169.254/latest/meta-data/",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[ff02::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the metadata address
    "https://[2002:7f00:1::]/hook",  # 6to4 of loopback
    "https://2130706433/hook",  # decimal 127.0.0.1
    "https://0x7f000001/hook",  # hex
    "https://0177.0.0.1/hook",  # octal
    "https://127.1/hook",
    "https://0x7f.1/hook",
    "https://user:pass@93.184.216.34/hook",
    "https://token@93.184.216.34/hook",
    "ftp://93.184.216.34/hook",
]


@pytest.mark.parametrize("url", REFUSED_DESTINATIONS)
def test_webhook_destination_is_checked_at_creation(
    strict_server: Server, role_keys: dict[str, str], mini: dict[str, Any], url: str
) -> None:
    with strict_server.client(role_keys["strategy"]) as strategy:
        response = _campaign(strategy, webhook_url=url)
    assert response.status_code == 422, (url, response.text)
    assert response.json()["detail"][0]["loc"][-1] == "webhook_url", response.text


@pytest.mark.parametrize(
    "secret",
    [" " * 16, " " * 40, "a" * 40, "ab" * 20, "0123456789" * 4 + " ", "short-but-random-XyZ12", "\t" * 32],
)
def test_weak_webhook_secret_is_refused(
    strict_server: Server, role_keys: dict[str, str], mini: dict[str, Any], secret: str
) -> None:
    with strict_server.client(role_keys["strategy"]) as strategy:
        response = _campaign(strategy, webhook_url="https://93.184.216.34/hook", webhook_secret=secret)
    assert response.status_code == 422, (secret, response.text)
    assert response.json()["detail"][0]["loc"][-1] == "webhook_secret"


def test_public_https_destination_and_strong_secret_are_accepted(
    strict_server: Server, role_keys: dict[str, str], mini: dict[str, Any]
) -> None:
    with strict_server.client(role_keys["strategy"]) as strategy:
        generated = _campaign(strategy, webhook_url="https://93.184.216.34/hook")
        assert generated.status_code == 201, generated.text
        assert len(generated.json()["webhook_secret"]) >= 32
        given = _campaign(
            strategy,
            webhook_url="https://93.184.216.34/hook",
            webhook_secret="Zq8-vN3x_Lp0tR7wYb2Kc5Hs9Dm4Fg6J",
        )
        assert given.status_code == 201, given.text


def test_stored_webhook_credentials_are_never_shown(strict_server: Server, role_keys: dict[str, str]) -> None:
    _engine, factory = open_database(strict_server.settings.database_url, migrate=False)
    with factory() as session:
        campaign = make_campaign(
            session, webhook_url="https://crm:hunter2@93.184.216.34/hook", webhook_secret="s" * 40
        )
    with strict_server.client(role_keys["strategy"]) as strategy:
        shown = strategy.get(f"/v1/campaigns/{campaign.id}").text
        listed = strategy.get("/v1/campaigns").text
    assert "hunter2" not in shown and "hunter2" not in listed
    assert "93.184.216.34/hook" in shown


def test_allow_list_admits_a_local_receiver(tmp_path: Path) -> None:
    settings = {"webhook_allow_http": True, "webhook_allow": ("127.0.0.1",)}
    with make_server(tmp_path, **settings) as server, server.client() as admin:
        assert admin.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML).status_code == 201
        assert _campaign(admin, webhook_url="http://127.0.0.1:9/hook").status_code == 201
        assert _campaign(admin, webhook_url="http://10.0.0.1:9/hook").status_code == 422
        assert _campaign(admin, webhook_url="http://user:pw@127.0.0.1:9/hook").status_code == 422


# --- 10. Body limit on the stream, /metrics, recordings, seats ------------------------------------------


def _chunks(total: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    yield b'[{"reference_id": "x", "phone": "13800001234", "name": "'
    sent = 0
    while sent < total:
        yield b"a" * chunk
        sent += chunk
    yield b'"}]'


def test_chunked_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    with make_server(tmp_path, max_body_bytes=2 * 1024 * 1024) as server, server.client() as admin:
        assert admin.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML).status_code == 201
        campaign = _campaign(admin).json()
        url = f"/v1/campaigns/{campaign['id']}/contacts"
        headers = {"Content-Type": "application/json"}
        response = admin.post(url, content=_chunks(6 * 1024 * 1024), headers=headers)
        assert response.status_code == 413, response.text[:200]
        assert response.json()["detail"][0]["loc"] == ["body"]
        csv = admin.post(url, content=_chunks(6 * 1024 * 1024), headers={"Content-Type": "text/csv"})
        assert csv.status_code == 413
        multipart = admin.post(
            url,
            content=_chunks(6 * 1024 * 1024),
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert multipart.status_code == 413
        flow = admin.post("/v1/flows", content=_chunks(3 * 1024 * 1024), headers=YAML)
        assert flow.status_code == 413
        small = admin.post(url, json=[{"reference_id": "ok", "phone": "13800001234"}])
        assert small.status_code == 200 and small.json()["created"] == 1


def test_metrics_need_a_key(strict_server: Server, role_keys: dict[str, str]) -> None:
    anonymous = httpx.get(f"{strict_server.base_url}/metrics", timeout=10)
    assert anonymous.status_code == 401
    for role in ("strategy", "operator", "admin"):
        with strict_server.client(role_keys[role]) as client:
            response = client.get("/metrics")
            assert response.status_code == 200 and "waihu_live_calls" in response.text


def test_public_metrics_is_an_explicit_setting(tmp_path: Path) -> None:
    with make_server(tmp_path, metrics_public=True) as server:
        assert httpx.get(f"{server.base_url}/metrics", timeout=10).status_code == 200


def test_recordings_are_not_served_without_a_recordings_dir(
    strict_server: Server, role_keys: dict[str, str], tmp_path: Path
) -> None:
    wav = tmp_path / "stolen.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 40)
    _engine, factory = open_database(strict_server.settings.database_url, migrate=False)
    with factory() as session:
        campaign = make_campaign(session)
        session.add(
            Contact(
                campaign_id=campaign.id,
                reference_id="r",
                phone="+8613800001234",
                state="done",
                attempts_total=1,
                attempts_on_day=0,
                retry_counts={},
                grade_label="",
                tags=[],
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        session.flush()
        contact = session.query(Contact).filter_by(campaign_id=campaign.id).one()
        session.add(
            Attempt(
                id="rec-attack-1",
                campaign_id=campaign.id,
                contact_id=contact.id,
                number=1,
                phone=contact.phone,
                caller_number="+862100000001",
                flow_id="mini",
                flow_version=1,
                status="finished",
                outcome="answered",
                claimed_by="w",
                claimed_at=utcnow(),
                lease_until=utcnow(),
                recording_path=str(wav),
            )
        )
        session.commit()
    with strict_server.client(role_keys["strategy"]) as strategy:
        response = strategy.get("/console/api/attempts/rec-attack-1/recording")
    assert response.status_code == 404 and b"RIFF" not in response.content


def test_operators_may_not_rename_seats(strict_server: Server, role_keys: dict[str, str]) -> None:
    with strict_server.client() as admin:
        seat = admin.post("/v1/seats", json={"uri": "sip:2001@10.0.0.9", "name": "Li"}).json()
    with strict_server.client(role_keys["operator"]) as operator:
        for change in ({"name": "Evil"}, {"skill_group": "vip"}, {"available": True, "name": "x"}):
            refused = operator.patch(f"/v1/seats/{seat['id']}", json=change)
            assert refused.status_code == 403, refused.text
            assert set(change) - {"available"} <= set(
                json.dumps(refused.json()["detail"]).replace('"', " ").split()
            )
        assert operator.patch(f"/v1/seats/{seat['id']}", json={"available": True}).json()["available"] is True
    with strict_server.client() as admin:
        renamed = admin.patch(f"/v1/seats/{seat['id']}", json={"name": "Li Na"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "Li Na"
