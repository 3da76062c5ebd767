"""The real fetcher against a real local HTTP server: success, timeout, 500, bad JSON, missing field,
signature checked by the server, retries, and the SSRF guard (loopback refused unless allowed)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dialog.actions import FetchData
from tests.live_data.server import SECRET, StrategyServer, strategy_server
from waihu.live_data import fetch_data
from waihu.live_data_http import FETCH_SETTINGS, HttpFetcher
from waihu.service.webhook_destinations import DestinationPolicy

pytestmark = pytest.mark.unit
MAP = {"amount": "bill.amount", "plans": "plans"}


@pytest.fixture
def server() -> Iterator[StrategyServer]:
    with strategy_server() as running:
        yield running


def _loopback_policy() -> DestinationPolicy:
    return DestinationPolicy.from_entries(["127.0.0.1"], allow_http=True, settings=FETCH_SETTINGS)


def _request(url: str, method: str = "GET", retries: int = 0, timeout_s: float = 2.0) -> FetchData:
    body = {"customer_id": "C1001", "name": "张先生"} if method == "POST" else {}
    return FetchData("bill", url, method, timeout_s, retries, MAP, body)


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    http = HttpFetcher(SECRET, _loopback_policy())
    yield http
    http.close()


def test_success_maps_the_answer_and_the_server_checks_the_signature(
    server: StrategyServer, fetcher: HttpFetcher
) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/bills/C1001?bank=%E6%98%9F"))
    assert answer.status == "ok", answer.detail
    assert answer.values == {"amount": "8650", "plans": "三期、六期、十二期"}
    assert server.seen.signatures_ok == [True]
    assert server.seen.paths == ["/bills/C1001?bank=%E6%98%9F"]


def test_a_post_signs_its_json_body(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/bills/C1001", "POST"))
    assert answer.status == "ok" and server.seen.signatures_ok == [True]
    assert json.loads(server.seen.bodies[0]) == {"customer_id": "C1001", "name": "张先生"}


def test_a_wrong_secret_is_refused_by_the_server(server: StrategyServer) -> None:
    wrong = HttpFetcher("not-the-secret", _loopback_policy())
    answer = fetch_data(wrong, _request(f"{server.url}/bills/C1001"))
    wrong.close()
    assert answer.status == "error" and answer.detail == "HTTP 401"
    assert server.seen.signatures_ok == [False]


def test_a_slow_answer_is_a_timeout(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/slow", timeout_s=0.2))
    assert answer.status == "timeout" and answer.values == {}


def test_a_server_error_is_an_error(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/fail"))
    assert answer.status == "error" and answer.detail == "HTTP 500"


def test_an_answer_that_is_not_json_is_an_error(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/badjson"))
    assert answer.status == "error" and "not JSON" in answer.detail


def test_an_answer_without_a_mapped_field_is_an_error(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/nobill"))
    assert answer.status == "error" and "bill.amount" in answer.detail


def test_redirects_are_not_followed(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/redirect"))
    assert answer.status == "error" and answer.detail == "HTTP 302"
    assert server.seen.paths == ["/redirect"]


def test_an_oversized_answer_is_refused(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/big"))
    assert answer.status == "error" and "larger than" in answer.detail


def test_one_retry_recovers_from_a_failed_try(server: StrategyServer, fetcher: HttpFetcher) -> None:
    assert fetch_data(fetcher, _request(f"{server.url}/flaky", retries=0)).status == "error"
    answer = fetch_data(fetcher, _request(f"{server.url}/flaky", retries=1))
    assert answer.status == "ok" and server.seen.hits["/flaky"] == 2


def test_retries_stop_after_one(server: StrategyServer, fetcher: HttpFetcher) -> None:
    answer = fetch_data(fetcher, _request(f"{server.url}/fail", retries=1))
    assert answer.status == "error" and server.seen.hits["/fail"] == 2


def test_loopback_is_refused_without_an_allow_list(server: StrategyServer) -> None:
    default = HttpFetcher(
        SECRET, DestinationPolicy.from_entries([], allow_http=True, settings=FETCH_SETTINGS)
    )
    answer = fetch_data(default, _request(f"{server.url}/bills/C1001"))
    default.close()
    assert answer.status == "error" and "loopback" in answer.detail and "WAIHU_FETCH_ALLOW" in answer.detail
    assert server.seen.paths == []  # nothing reached the server


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/bills/1",
        "http://[::ffff:127.0.0.1]/bills/1",
        "http://2130706433/bills/1",
    ],
)
def test_private_and_metadata_targets_are_refused(url: str) -> None:
    default = HttpFetcher(
        SECRET, DestinationPolicy.from_entries([], allow_http=True, settings=FETCH_SETTINGS)
    )
    answer = fetch_data(default, _request(url))
    default.close()
    assert answer.status == "error" and answer.detail.startswith("destination refused")


def test_plain_http_needs_its_setting() -> None:
    strict = HttpFetcher(SECRET)
    answer = fetch_data(strict, _request("http://strategy.example.com/bills/1"))
    strict.close()
    assert answer.status == "error" and "WAIHU_FETCH_ALLOW_HTTP" in answer.detail


def test_a_name_resolving_to_loopback_is_refused(server: StrategyServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    policy = DestinationPolicy.from_entries([], allow_http=True, settings=FETCH_SETTINGS)
    rebinding = HttpFetcher(SECRET, policy, resolver=lambda host, port: ["127.0.0.1"])
    answer = fetch_data(rebinding, _request(f"http://strategy.example.com:{port}/bills/1"))
    rebinding.close()
    assert answer.status == "error" and "loopback" in answer.detail and server.seen.paths == []
