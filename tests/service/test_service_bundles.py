"""Flow bundles over real HTTP: upload the YAML with its recordings, read them back, attacks refused."""

from __future__ import annotations

import hashlib

import pytest

from sip_peers.peers import tone
from tests.security.test_flow_bundles import FLOW, WAV, make_zip
from tests.service.helpers import Server
from tts.audio import wav_bytes
from tts.base import Audio
from waihu.service import bundles

ZIP = {"content-type": "application/zip"}


@pytest.fixture(scope="module")
def operator_key(server: Server) -> str:
    """An operator's key."""
    with server.client() as admin:
        return admin.post("/v1/keys", json={"name": "recordings", "role": "operator"}).json()["key"]


def test_upload_a_bundle_and_read_its_recordings_back(server: Server, operator_key: str) -> None:
    bundle = make_zip({"tone.yaml": FLOW.encode(), "prompts/greeting.wav": WAV, "unused.wav": WAV})
    with server.client(operator_key) as client:
        first = client.post("/v1/flows", content=bundle, headers=ZIP)
        assert first.status_code == 201, first.text
        body = first.json()
        (recording,) = body["recordings"]
        assert recording == {
            "name": "prompts/greeting.wav",
            "sha256": hashlib.sha256(WAV).hexdigest(),
            "size": len(WAV),
            "duration_ms": 500,
        }
        assert any("unused.wav" in warning for warning in body["warnings"]), body["warnings"]
        version = body["version"]
        again = client.post("/v1/flows", files={"file": ("tone.zip", bundle, "application/zip")})
        assert again.status_code == 200 and again.json()["version"] == version
        stored = client.get(f"/v1/flows/tone/versions/{version}").json()
        assert stored["yaml"] == FLOW and stored["recordings"] == [recording]
        wav = client.get(f"/v1/flows/tone/versions/{version}/recordings/prompts/greeting.wav")
        assert wav.status_code == 200 and wav.content == WAV
        assert wav.headers["content-type"] == "audio/wav"
        missing = client.get(f"/v1/flows/tone/versions/{version}/recordings/prompts/other.wav")
        assert missing.status_code == 404
        # The same YAML with another recording is another version; its bytes are stored once.
        other = wav_bytes(Audio(tone(880.0, 0.25), 8000))
        changed = client.post(
            "/v1/flows",
            content=make_zip({"tone.yaml": FLOW.encode(), "prompts/greeting.wav": other}),
            headers=ZIP,
        )
        assert changed.status_code == 201 and changed.json()["version"] == version + 1
        assert changed.json()["recordings"][0]["duration_ms"] == 250
        # Without its recordings the flow cannot be uploaded: the YAML alone names files.
        alone = client.post("/v1/flows", content=FLOW, headers={"content-type": "application/yaml"})
        assert alone.status_code == 422 and "cannot reference files" in alone.text
        # An edited YAML keeps the recordings of the version it was edited from.
        edited = FLOW + "# edited\n"
        kept = client.post(
            f"/v1/flows?recordings_from={version}",
            content=edited,
            headers={"content-type": "application/yaml"},
        )
        assert kept.status_code == 201 and kept.json()["recordings"] == [recording], kept.text
        nowhere = client.post(
            "/v1/flows?recordings_from=99", content=edited, headers={"content-type": "application/yaml"}
        )
        assert nowhere.status_code == 404 and nowhere.json()["detail"][0]["loc"] == [
            "query",
            "recordings_from",
        ]
    with server.client() as admin:  # the audit log names the recordings of each upload
        audit = admin.get("/v1/audit").json()["items"]
    assert any((entry["after"] or {}).get("recordings") == ["prompts/greeting.wav"] for entry in audit), (
        audit[:2]
    )


def test_bundle_errors_name_the_file_and_yaml_position(server: Server, operator_key: str) -> None:
    with server.client(operator_key) as client:
        wrong = client.post(
            "/v1/flows", content=make_zip({"tone.yaml": FLOW.encode(), "prompts/hello.wav": WAV}), headers=ZIP
        )
        assert wrong.status_code == 422
        (problem,) = wrong.json()["detail"]["problems"]
        assert problem.startswith(
            "tone.yaml:6:5: nodes.hello.audio: 'prompts/greeting.wav' is not in the bundle"
        )
        assert "prompts/hello.wav" in problem


@pytest.mark.parametrize(
    ("member", "data", "status"),
    [
        ("../evil.wav", WAV, 422),
        ("/etc/evil.wav", WAV, 422),
        ("prompts/greeting.wav", b"MZ\x90\x00 not audio", 415),
        ("run.sh", b"#!/bin/sh\n", 422),
        ("prompts/greeting.wav", bytes(bundles.MAX_RECORDING_BYTES + 1), 413),
    ],
)
def test_hostile_bundles_get_a_4xx_naming_the_member(
    server: Server, operator_key: str, member: str, data: bytes, status: int
) -> None:
    members = {"tone.yaml": FLOW.encode(), "prompts/greeting.wav": WAV, member: data}
    with server.client(operator_key) as client:
        response = client.post("/v1/flows", content=make_zip(members), headers=ZIP)
        assert response.status_code == status, response.text
        (detail,) = response.json()["detail"]
        assert detail["loc"] == ["body", "bundle", member], detail


def test_not_a_zip_and_an_oversized_upload(server: Server, operator_key: str) -> None:
    with server.client(operator_key) as client:
        junk = client.post("/v1/flows", content=b"definitely not a zip", headers=ZIP)
        assert junk.status_code == 422 and junk.json()["detail"][0]["loc"] == ["body", "bundle"]
        huge = client.post("/v1/flows", content=bytes(bundles.MAX_BUNDLE_BYTES + 1), headers=ZIP)
        assert huge.status_code == 413 and huge.json()["detail"][0]["loc"] == ["body"]
