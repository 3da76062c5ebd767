"""The campaign-rule tests over real HTTP again, with the service on a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service import test_service_campaign_patch as patch_tests
from tests.service import test_service_frequency_cap as cap_tests
from tests.service import test_service_routing as routing_tests
from tests.service.helpers import Server, run_server
from waihu.service.settings import Settings


@pytest.fixture
def pg_server(pg_url: str) -> Iterator[Server]:
    """A live server on a fresh PostgreSQL database; default cap 2 answered calls per 7 days."""
    settings = Settings(
        database_url=pg_url,
        background=False,
        webhook_allow_http=True,
        webhook_allow=("127.0.0.1",),
        frequency_cap=(2, 7),
    )
    with run_server(settings) as running:
        yield running


@pytest.mark.parametrize(
    "case",
    [
        patch_tests.test_patch_is_applied_at_the_next_claim_validated_audited_and_scoped,
        patch_tests.test_stop_at_ends_the_campaign_and_expires_what_is_left,
        patch_tests.test_cancel_one_pending_contact,
        patch_tests.test_holiday_calendars_per_campaign_and_shared,
        cap_tests.test_the_cap_defers_then_allows_and_ends_with_a_clear_outcome,
        cap_tests.test_a_call_in_progress_counts_and_patch_changes_the_cap,
        routing_tests.test_retry_rules_by_tag_and_by_the_time_the_callee_named,
        routing_tests.test_routing_to_a_follow_up_campaign_by_grade,
        routing_tests.test_local_caller_id_by_the_callee_province,
    ],
    ids=lambda case: case.__name__.removeprefix("test_"),
)
def test_on_postgres(pg_server: Server, case: object) -> None:
    case(pg_server)  # type: ignore[operator]
