"""Typed answers: every API route declares its response model, the OpenAPI document lists them as
component schemas, and the JSON keeps the field names strategy systems and the console read (phone
numbers still masked for operators, secrets still shown once)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from tests.security.tenants import finish_one_call
from tests.service.helpers import ALL_DAY, Server, strategy_and_operator
from waihu.service.imports import ContactCreate, RawRow, validate_rows
from waihu.service.models import Attempt, Contact
from waihu.service.views import AttemptView, ContactView, masked

#: Field names of the shared views: a contract (fields may be added, never renamed or dropped).
CAMPAIGN_FIELDS = {
    "id", "name", "reference_id", "flow_id", "flow_version", "timezone", "windows", "not_before",
    "not_after", "max_attempts", "max_attempts_per_day", "retry_policy", "concurrency", "caller_numbers",
    "priority", "webhook_url", "start_at", "stop_at", "holidays", "holiday_calendars", "frequency_cap",
    "routing_rules", "caller_numbers_by_region", "variants", "voicemail_action", "voicemail_message",
    "state", "created_at", "updated_at",
}  # fmt: skip
CONTACT_FIELDS = {
    "id", "campaign_id", "reference_id", "phone", "name", "variables", "state", "next_attempt_at",
    "attempts", "last_attempt_id", "last_outcome", "final_outcome", "grade", "grade_label", "tags",
    "regraded_at", "variant", "created_at", "finished_at", "routed_to_contact_id", "routed_from_contact_id",
}  # fmt: skip
RESULT_FIELDS = {
    "attempt_id", "attempt_number", "is_retry", "campaign_id", "contact_id", "reference_id", "phone",
    "caller_number", "caller_region", "flow_id", "flow_version", "variant", "status", "outcome", "sip_code",
    "sip_reason", "hangup_by", "hangup_reason", "carrier_announcement", "claimed_at", "started_at",
    "ring_at", "answer_at", "end_at", "ring_s", "duration_s", "rounds", "grade", "grade_label", "tags",
    "kb_hits", "recording_path",
}  # fmt: skip
COUNTER_FIELDS = {
    "total", "pending", "dialling", "in_call", "done", "done_by_outcome", "done_by_grade", "lines_in_use",
    "attempts",
}  # fmt: skip
PHONE = "+8613800001234"
MASKED = "+86138****1234"


def _api_routes(server: Server) -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route) of every route of ``waihu.service.api``."""
    try:
        from fastapi.routing import iter_route_contexts

        contexts: list[Any] = list(iter_route_contexts(server.app.routes))
    except ImportError:  # older FastAPI: the routes are flat already
        contexts = list(server.app.routes)
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute) and route.endpoint.__module__.startswith("waihu.service.api"):
            found += [(method, context.path, route) for method in sorted(route.methods) if method != "HEAD"]
    return found


def _answers_json(route: APIRoute) -> bool:
    """Whether the route answers a JSON body (not 204, not a file, stream or Prometheus text)."""
    if route.status_code == 204:
        return False
    return isinstance(route.response_class, DefaultPlaceholder) or route.response_class is JSONResponse


def test_every_api_route_declares_a_response_model(server: Server) -> None:
    routes = _api_routes(server)
    assert len(routes) > 30
    missing = [
        (method, path)
        for method, path, route in routes
        if _answers_json(route) and route.response_model is None
    ]
    assert missing == [], f"routes answering JSON without a response_model: {missing}"


def _schema_name(content: dict[str, Any]) -> str:
    ref = content["application/json"]["schema"]["$ref"]
    assert ref.startswith("#/components/schemas/"), ref
    return ref.rsplit("/", 1)[-1]


def test_openapi_lists_a_component_schema_for_every_answer(server: Server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    components = spec["components"]["schemas"]
    checked = 0
    for method, path, route in _api_routes(server):
        if not _answers_json(route):
            continue
        answers = spec["paths"][path][method.lower()]["responses"]
        name = _schema_name(answers[str(route.status_code or 200)]["content"])
        assert components[name].get("properties"), (method, path, name)
        checked += 1
    assert checked > 30
    # An idempotent create documents its 200 (existing) answer with the create's own model.
    created = spec["paths"]["/v1/campaigns"]["post"]["responses"]
    assert (
        _schema_name(created["200"]["content"]) == _schema_name(created["201"]["content"]) == "CampaignPublic"
    )
    assert {"CampaignsPublic", "ContactPublic", "ResultsPublic", "DncsPublic", "KeyCreated"} <= set(
        components
    )
    assert "ContactCreate" in str(
        spec["paths"]["/v1/campaigns/{campaign_id}/contacts"]["post"]["requestBody"]
    )


def test_answers_keep_field_names_masking_and_secrets_shown_once(server: Server) -> None:
    keys = strategy_and_operator(server, "typed answers")
    strategy, operator = server.client(keys["strategy"]), server.client(keys["operator"])
    body = {"name": "typed", "flow_id": "mini", "windows": ALL_DAY, "webhook_url": "http://127.0.0.1:9/h"}
    created = strategy.post("/v1/campaigns", json=body).json()
    assert CAMPAIGN_FIELDS | {"counters", "webhook_secret"} <= set(created)
    assert set(created["counters"]) >= COUNTER_FIELDS
    campaign_id = created["id"]
    shown = strategy.get(f"/v1/campaigns/{campaign_id}").json()
    assert CAMPAIGN_FIELDS | {"counters"} <= set(shown) and "webhook_secret" not in shown
    listed = strategy.get("/v1/campaigns", params={"limit": 1}).json()
    assert set(listed) == {"items", "next_cursor"} and "counters" not in listed["items"][0]

    rows = [{"reference_id": "t1", "phone": PHONE}, {"reference_id": "t2", "phone": "12"}]
    imported = strategy.post(f"/v1/campaigns/{campaign_id}/contacts", json=rows).json()
    assert imported["created"] == 1 and imported["errors"][0]["field"] == "phone"
    assert "line" not in imported["errors"][0]  # JSON rows have no file line
    csv = "reference_id,phone\nt3,99\n"
    from_csv = strategy.post(
        f"/v1/campaigns/{campaign_id}/contacts", content=csv, headers={"Content-Type": "text/csv"}
    ).json()
    assert from_csv["errors"][0]["line"] == 2
    attempt_id = finish_one_call(server, campaign_id)

    for client in (strategy, server.client()):  # the roles that read contacts and results see numbers in full
        phone = PHONE
        contacts = client.get(f"/v1/campaigns/{campaign_id}/contacts").json()["items"]
        assert set(contacts[0]) >= CONTACT_FIELDS and contacts[0]["phone"] == phone
        contact = client.get(f"/v1/campaigns/{campaign_id}/contacts/t1").json()
        assert contact["phone"] == phone
        (attempt,) = contact["attempts_detail"]
        assert RESULT_FIELDS | {"transcript"} <= set(attempt) and attempt["phone"] == phone
        result = client.get(f"/v1/results/{attempt_id}").json()
        assert result["phone"] == phone and {"transcript", "notifications"} <= set(result)
        results = client.get("/v1/results", params={"campaign_id": campaign_id}).json()["items"]
        assert results[0]["phone"] == phone and "transcript" not in results[0]
    with_transcript = strategy.get("/v1/results", params={"campaign_id": campaign_id, "transcript": True})
    assert "transcript" in with_transcript.json()["items"][0]

    post_call = {"url": "http://127.0.0.1:9/sms", "rules": []}
    assert "secret" in strategy.put(f"/v1/campaigns/{campaign_id}/post-call", json=post_call).json()
    assert "secret" not in strategy.get(f"/v1/campaigns/{campaign_id}/post-call").json()
    assert operator.post("/v1/dnc", json={"phone": PHONE}).json()["phone"] == MASKED
    assert operator.get("/v1/dnc", params={"phone": PHONE}).json()["items"][0]["phone"] == MASKED


def test_typed_views_are_masked_for_roles_that_do_not_call_people() -> None:
    contact = Contact(
        id=1, campaign_id=2, reference_id="c1", phone=PHONE, name="", state="done", attempts_total=1
    )
    attempt = Attempt(
        id="a" * 32, contact_id=1, campaign_id=2, number=1, phone=PHONE, flow_id="m", flow_version=1
    )
    attempt.status, attempt.rounds, contact.grade_label, attempt.grade_label = "finished", 0, "", ""
    for role, shown in (("operator", MASKED), ("strategy", PHONE), ("admin", PHONE)):
        assert masked(ContactView.from_row(contact), role).phone == shown
        view = masked(AttemptView.from_row(attempt, contact, with_transcript=False), role)
        assert view.phone == shown and view.reference_id == "c1"
        assert "transcript" not in view.model_dump(exclude_unset=True)  # unset fields stay unset


def test_every_valid_import_row_is_the_documented_contact_model() -> None:
    rows = [RawRow(1, {"referenceId": "r1", "phoneNumber": "13800001234", "extras": {"n": 1}}), RawRow(2, [])]
    checked = validate_rows(rows)
    record = checked.valid["r1"]
    assert ContactCreate.model_validate(record).model_dump() == record
    assert record == {"reference_id": "r1", "phone": PHONE, "name": "", "variables": {"n": "1"}}
    assert [error.row for error in checked.report.errors] == [2]
