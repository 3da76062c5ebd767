"""Property-based API tests from the OpenAPI document (schemathesis) over every operation.

Every operation of ``/openapi.json`` (campaigns, contacts, results, DNC, seats, flows, keys, audit,
metrics, health and the console's JSON APIs) gets generated requests: valid ones with generated path
parameters, valid ones aimed at real resources (so the 2xx and 409 answers are exercised too), and
invalid ones. Every answer must be a non-5xx whose status code, content type and body are the ones
the document declares for it.

``WAIHU_SCHEMATHESIS_EXAMPLES`` sets the examples per operation and mode (default 20).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL_FLOW
from tests.security.tenants import SilentSpeech, finish_one_call
from tests.service.helpers import ALL_DAY, Server, run_server
from waihu.console.config import ConsoleConfig
from waihu.console.state import ConsoleState
from waihu.service.settings import Settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("WAIHU_SCHEMATHESIS_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
YAML = {"Content-Type": "application/yaml"}
#: Operations the document must have (a sample across every router; all of them are tested).
REQUIRED = {
    ("POST", "/v1/campaigns"),
    ("POST", "/v1/campaigns/{campaign_id}/contacts"),
    ("GET", "/v1/results/{attempt_id}"),
    ("DELETE", "/v1/dnc/{phone}"),
    ("PATCH", "/v1/seats/{seat_id}"),
    ("POST", "/v1/flows"),
    ("GET", "/v1/flows/{flow_id}/versions/{version}"),
    ("DELETE", "/v1/keys/{key_id}"),
    ("GET", "/v1/audit"),
    ("GET", "/metrics"),
    ("POST", "/console/api/flows/validate"),
    ("POST", "/console/api/sim/{session_id}"),
    ("POST", "/console/api/tts"),
    ("GET", "/console/api/attempts/{attempt_id}/recording"),
}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server with a flow, a campaign with a finished call, a seat, a DNC entry and a simulator session;
    the console uses the rules NLU and a silent TTS (the document, not the models, is under test)."""
    db = tmp_path_factory.mktemp("fuzz") / "waihu.db"
    with run_server(Settings(database_url=f"sqlite:///{db}", background=False)) as server:
        console = ConsoleState.from_config(ConsoleConfig(classifier_kind="rules"))
        console.speech = SilentSpeech()  # type: ignore[assignment]
        server.app.state.console = console
        yield server


def _known_resources(server: Server) -> dict[str, Any]:
    """Create one of everything and return the path parameters naming them."""
    with server.client() as admin:
        assert admin.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML).status_code == 201
        campaign = admin.post(
            "/v1/campaigns", json={"name": "st", "flow_id": "mini", "windows": ALL_DAY}
        ).json()
        contacts = [
            {"reference_id": "c1", "phone": "13800001234"},
            {"reference_id": "c2", "phone": "13800005678"},
        ]
        assert admin.post(f"/v1/campaigns/{campaign['id']}/contacts", json=contacts).json()["created"] == 2
        attempt_id = finish_one_call(server, campaign["id"])
        seat = admin.post("/v1/seats", json={"uri": "sip:1001@10.0.0.5"}).json()
        assert admin.post("/v1/dnc", json={"phone": "13900009999"}).status_code == 201
        key = admin.post("/v1/keys", json={"name": "to revoke", "role": "strategy"}).json()
        sim = admin.post("/console/api/sim", json={"flow_id": "mini", "version": 1}).json()
    return {
        "campaign_id": campaign["id"],
        "reference_id": "c1",
        "attempt_id": attempt_id,
        "seat_id": seat["id"],
        "phone": "+8613900009999",
        "key_id": key["id"],
        "flow_id": "mini",
        "version": 1,
        "session_id": sim["session_id"],
    }


def test_every_operation_answers_as_documented(fuzz_server: Server) -> None:
    known = _known_resources(fuzz_server)
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {(op.method.upper(), op.path) for op in operations}
    assert documented >= REQUIRED, REQUIRED - documented
    assert len(operations) >= 42
    headers = {"Authorization": f"Bearer {fuzz_server.admin_key}"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    per_operation: Counter[str] = Counter()
    started = time.monotonic()

    for operation in operations:
        strategies = [
            operation.as_strategy(),
            operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
        ]
        real = {name: value for name, value in known.items() if "{" + name + "}" in operation.path}
        if real:
            strategies.append(operation.as_strategy(path_parameters=real))

        @given(case=st.one_of(*strategies))
        @settings(
            max_examples=EXAMPLES * len(strategies),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(base_url=fuzz_server.base_url, headers=headers)
            statuses[response.status_code] += 1
            per_operation[f"{case.method} {case.path}"] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as exc:  # what did not conform
                first = str(exc).strip().splitlines()[0:6]
                failures.append(
                    f"{case.method} {case.formatted_path} → {response.status_code}: {' | '.join(first)}"
                )

        check()

    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    print(
        f"\nschemathesis: {total} requests on {len(operations)} operations in {elapsed:.0f} s, "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    assert failures == [], "\n".join(failures[:30])
    assert not [code for code in statuses if code >= 500]
    assert len(per_operation) == len(operations)  # every operation was exercised
    fuzzed = [count for name, count in per_operation.items() if name != "GET /healthz"]  # no inputs there
    assert min(fuzzed) >= EXAMPLES
    assert sum(count for code, count in statuses.items() if 200 <= code < 300) >= len(operations)
