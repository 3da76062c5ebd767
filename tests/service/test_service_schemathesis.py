"""Property-based API tests from the OpenAPI spec (schemathesis): bad input is a 4xx, never a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import Server

schemathesis = pytest.importorskip("schemathesis")
PATHS = re.compile(r"^/v1/(campaigns|results|dnc|seats|keys)")


def test_generated_requests_never_get_a_server_error(server: Server) -> None:
    with server.client() as client:
        client.post("/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"})
        client.post("/v1/campaigns", json={"name": "st", "flow_id": "mini"})
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if PATHS.match(op.path)]
    assert len(operations) >= 12
    failures: list[str] = []
    calls: list[int] = []
    headers = {"Authorization": f"Bearer {server.admin_key}"}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(base_url=server.base_url, headers=headers)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r:.200}: {response.status_code}"
                )

        check()
    assert failures == []
    assert len(calls) >= 10 * len(operations)
    print(
        f"\nschemathesis: {len(calls)} requests on {len(operations)} operations, statuses {sorted(set(calls))}"
    )
