"""Error answers over real HTTP: the unchanged ``detail`` plus the registry's ``code`` and ``params``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, Server, strategy_and_operator

CAMPAIGN = {"name": "c", "flow_id": "mini", "windows": ALL_DAY, "timezone": "Asia/Shanghai"}


def _campaign(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/campaigns", json=CAMPAIGN | overrides)
    assert response.status_code == 201, response.text
    return response.json()


def test_not_found_carries_code_and_params(server: Server) -> None:
    keys = strategy_and_operator(server, "problems 404", MINIMAL_FLOW)
    with server.client(keys["strategy"]) as client:
        answer = client.get("/v1/campaigns/424242")
        assert answer.status_code == 404
        assert answer.json() == {
            "detail": "campaign 424242 not found",
            "code": "campaign_not_found",
            "params": {"campaign": 424242},
        }
    with server.client(keys["operator"]) as operator:
        answer = operator.get("/v1/flows/no_such_flow/versions")
        assert answer.status_code == 404
        body = answer.json()
        assert body["detail"] == "flow 'no_such_flow' not found"  # as before the registry
        assert (body["code"], body["params"]) == ("flow_not_found", {"flow": "no_such_flow"})


def test_conflict_carries_code_and_params(server: Server) -> None:
    keys = strategy_and_operator(server, "problems 409", MINIMAL_FLOW)
    with server.client(keys["strategy"]) as client:
        cid = _campaign(client)["id"]
        answer = client.post(f"/v1/campaigns/{cid}/resume")  # not paused
        assert answer.status_code == 409
        assert answer.json() == {
            "detail": f"campaign {cid} is scheduling, not paused",
            "code": "campaign_not_paused",
            "params": {"campaign": cid, "state": "scheduling"},
        }


def test_custom_validator_problem_is_typed_with_its_code(server: Server) -> None:
    keys = strategy_and_operator(server, "problems 422", MINIMAL_FLOW)
    with server.client(keys["strategy"]) as client:
        answer = client.post(
            "/v1/campaigns",
            json=CAMPAIGN | {"not_before": "2026-12-02T00:00:00Z", "not_after": "2026-12-01T00:00:00Z"},
        )
        assert answer.status_code == 422
        body = answer.json()
        (item,) = body["detail"]  # FastAPI's list of {loc, msg, type} as ever
        assert item["loc"] == ["body"] and item["msg"] == "not_before must not be after not_after"
        assert item["type"] == "not_before_after_not_after" and item["ctx"] == {}
        assert (body["code"], body["params"]) == ("not_before_after_not_after", {})
        # A field problem the endpoint finds itself: the same shape, params in ctx and at the top.
        answer = client.post("/v1/campaigns", json=CAMPAIGN | {"flow_id": "nope"})
        assert answer.status_code == 422
        body = answer.json()
        assert body["detail"] == [
            {
                "loc": ["body", "flow_id"],
                "msg": "no flow 'nope' uploaded (POST /v1/flows first)",
                "type": "flow_not_uploaded",
                "ctx": {"flow": "nope"},
            }
        ]
        assert (body["code"], body["params"]) == ("flow_not_uploaded", {"flow": "nope"})
        # Pydantic's own problems are untouched: no code (the console words them by type).
        plain = client.post("/v1/campaigns", json=CAMPAIGN | {"name": ""}).json()
        assert plain["detail"][0]["type"] == "string_too_short" and "code" not in plain


def test_auth_problems_keep_status_and_headers(server: Server) -> None:
    with httpx.Client(base_url=server.base_url) as anonymous:
        answer = anonymous.get("/v1/campaigns")
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json()["code"] == "api_key_missing"
    keys = strategy_and_operator(server, "problems 403", MINIMAL_FLOW)
    with server.client(keys["operator"]) as operator:
        answer = operator.get("/v1/keys")
        assert answer.status_code == 403
        body = answer.json()
        assert body["detail"] == "role 'operator' may not do this; needs one of: admin"
        assert (body["code"], body["params"]) == ("role_forbidden", {"role": "operator", "needs": "admin"})


def test_a_lower_layers_sentence_keeps_its_text_and_gains_its_code(server: Server) -> None:
    keys = strategy_and_operator(server, "problems phone", MINIMAL_FLOW)
    with server.client(keys["strategy"]) as client:
        answer = client.post("/v1/dnc", json={"phone": "12345"})
        assert answer.status_code == 422
        body = answer.json()
        assert body["detail"] == [
            {
                "loc": ["body", "phone"],
                "msg": "not a valid phone number (region CN for numbers without +)",  # as phones.py words it
                "type": "phone_invalid",
                "ctx": {"region": "CN"},
            }
        ]
        assert (body["code"], body["params"]) == ("phone_invalid", {"region": "CN"})
        answer = client.post(
            "/v1/campaigns", json=CAMPAIGN | {"webhook_url": "https://user:pw@example.com/hook"}
        )
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["msg"] == "credentials (user:password@) are not allowed in the URL"
        assert answer.json()["code"] == "url_credentials"


def test_an_imports_row_errors_carry_code_and_params(server: Server) -> None:
    keys = strategy_and_operator(server, "problems rows", MINIMAL_FLOW)
    with server.client(keys["strategy"]) as client:
        cid = _campaign(client)["id"]
        rows = [{"reference_id": "a", "phone": "13900001111"}, {"reference_id": "b", "phone": "13900001111"}]
        answer = client.post(
            f"/v1/campaigns/{cid}/contacts", json=[*rows, {"reference_id": "c", "phone": "12345"}]
        )
        assert answer.status_code == 200, answer.text
        errors = answer.json()["errors"]
        assert errors[0] == {
            "row": 2,
            "field": "phone",
            "message": "same phone as reference_id 'a' on row 1 of this import: a number is dialled once per campaign",
            "reference_id": "b",
            "code": "row_phone_in_import",
            "params": {"holder": "a", "holder_row": 1},
        }
        assert (errors[1]["code"], errors[1]["message"]) == (
            "phone_invalid",
            "not a valid phone number (region CN for numbers without +)",
        )
