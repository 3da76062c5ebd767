"""The console's own endpoints without a browser: roles, TTS WAV, recordings, the semantic KB path."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import httpx
import pytest

from dialog.loader import load_flow_file
from tests.conftest import FLOWS
from tests.console.conftest import Console
from waihu.console.flowtools import answer_table
from waihu.console.kb import search_kb
from waihu.service.recordings import recording_file


def client(console: Console, key: str) -> httpx.Client:
    return httpx.Client(base_url=console.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_pages_are_served_and_api_needs_a_key(console: Console) -> None:
    for path in (
        "/console/login",
        "/console/flows",
        "/console/flows/x/table",
        "/console/calls/abc",
        "/console/keys",
    ):
        response = httpx.get(console.url(path))
        assert response.status_code == 200 and "waihu 控制台" in response.text, path  # zh-CN by default
    assert httpx.get(console.url("/console/static/js/common.js")).status_code == 200
    assert httpx.get(console.url("/console/api/whoami")).status_code == 401
    assert httpx.get(console.url("/console/"), follow_redirects=False).headers["location"] == "/console/flows"


def test_roles_are_respected_by_console_endpoints(console: Console) -> None:
    with client(console, console.seeded.admin_key) as admin:
        strategy_key = admin.post("/v1/keys", json={"name": "crm", "role": "strategy"}).json()["key"]
    with client(console, strategy_key) as strategy:
        assert strategy.get("/console/api/whoami").json()["role"] == "strategy"
        refused = strategy.post("/console/api/sim", json={"flow_id": "credit_card_installment", "version": 1})
        assert refused.status_code == 403 and "needs one of: admin, operator" in refused.json()["detail"]
        assert strategy.get(f"/console/api/campaigns/{console.seeded.campaign_id}/stats").status_code == 200
    with client(console, console.seeded.operator_key) as operator:
        assert operator.get(f"/console/api/campaigns/{console.seeded.campaign_id}/stats").status_code == 403
        attempt = console.seeded.answered_attempt
        assert operator.get(f"/console/api/attempts/{attempt}/recording").status_code == 403
        validated = operator.post(
            "/console/api/flows/validate", json={"yaml": "flow: [", "filename": "f.yaml"}
        )
        assert validated.json()["ok"] is False and validated.json()["problems"][0]["text"].startswith(
            "f.yaml:1:"
        )


def test_tts_returns_a_wav(console: Console) -> None:
    with client(console, console.seeded.operator_key) as operator:
        response = operator.post(
            "/console/api/tts", json={"text": "Your appointment is tomorrow.", "language": "en"}
        )
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() / 8000 > 0.8


def test_simulator_rejects_missing_variables_and_finished_calls(console: Console) -> None:
    with client(console, console.seeded.operator_key) as operator:
        missing = operator.post("/console/api/sim", json={"flow_id": "credit_card_installment", "version": 1})
        assert (
            missing.status_code == 422
            and "required variables missing" in missing.json()["detail"]["problems"][0]
        )
        started = operator.post(
            "/console/api/sim",
            json={
                "flow_id": "credit_card_installment",
                "version": 1,
                "variables": {"name": "王", "amount": "9"},
            },
        ).json()
        sid = started["session_id"]
        assert started["turn"]["node"] == "greeting"
        ended = operator.post(f"/console/api/sim/{sid}", json={"kind": "hangup"}).json()["turn"]
        assert ended["finished"] and ended["result"]["outcome"] == "callee_hangup"
        assert operator.post(f"/console/api/sim/{sid}", json={"kind": "say", "text": "喂"}).status_code == 409
        assert operator.post("/console/api/sim/nope", json={"kind": "silence"}).status_code == 404


def test_recording_is_served_only_from_the_recordings_dir(console: Console, tmp_path: Path) -> None:
    root = console.seeded.recording.parent
    assert recording_file(str(console.seeded.recording), root) == console.seeded.recording.resolve()
    outside = tmp_path / "x.wav"
    outside.write_bytes(b"RIFF")
    assert recording_file(str(outside), root) is None
    assert recording_file(str(root / "../recordings/../console.db"), None) is None  # not audio
    assert recording_file(str(root / "missing.wav"), root) is None
    assert recording_file(None, root) is None


def test_answer_table_columns_follow_the_declared_intents() -> None:
    flow = load_flow_file(FLOWS / "credit_card_installment.yaml").flow
    assert flow is not None
    table = answer_table(flow)
    assert table["columns"][:3] == ["affirm", "deny", "busy"]
    rows = {row["id"]: row for row in table["rows"]}
    assert rows["greeting"]["cells"]["affirm"]["next"] == "offer"
    assert rows["global"]["cells"]["do_not_call"]["dnc"] is True
    assert rows["handoff"]["then"] == "transfer"


def test_semantic_kb_search_with_the_model() -> None:
    """The one test that loads the e5 model (as the console does with the default NLU)."""
    from nlu.paths import data_dir

    if not (data_dir() / "models").is_dir():
        pytest.skip("models not prepared (waihu models prepare)")
    flow = load_flow_file(FLOWS / "credit_card_installment.yaml").flow
    assert flow is not None
    hits = search_kb(flow, "办这个要收我多少钱", 3, "semantic")
    assert hits[0]["entry_id"] in {"fee", "amount"} and 0 < hits[0]["score"] <= 1
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)


def test_turn_latency_prefers_measured_latencies() -> None:
    import datetime as dt

    from waihu.console.stats import _latency
    from waihu.service.models import Attempt

    answer = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)
    attempt = Attempt(answer_at=answer, end_at=answer + dt.timedelta(seconds=40), rounds=4, transcript=[])
    assert _latency(attempt) == (10.0, "duration/rounds")
    attempt.transcript = [{"latency_ms": 800}, {"latency_ms": 1200}, {"latency_ms": None}]
    assert _latency(attempt) == (1.0, "measured")
