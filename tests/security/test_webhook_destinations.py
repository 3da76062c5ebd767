"""Point 6 at delivery: the destination is checked again after DNS, and the checked address is used.

A host that resolved to a public address when the campaign was created may resolve to 127.0.0.1 or the
metadata address later (DNS rebinding); the sender resolves, checks every address, then connects to the
address it checked, with the original Host header.
"""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import free_port, make_campaign
from tests.service.test_service_webhooks import Receiver, serve
from waihu.service.models import WebhookEvent
from waihu.service.settings import Settings
from waihu.service.webhook_destinations import (
    DestinationPolicy,
    DestinationRefused,
    blocked_reason,
    parse_ip,
    policy_from_settings,
    redact_url,
)
from waihu.service.webhooks import WebhookSender, enqueue_event
from waihu_env import reload_environment

SECRET = "k9Vq2LmX7pR4tZ8wN3bH6cJ1dF5gS0aE"


class FakeDns:
    """A resolver answering from a table, counting look-ups (what an attacker's DNS would answer)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.answers:
            raise OSError(f"no such host {host}")
        return self.answers[host]


def _event_for(factory: sessionmaker[Session], url: str) -> str:
    with factory() as session:
        campaign = make_campaign(session, webhook_url=url, webhook_secret=SECRET)
        event = enqueue_event(session, campaign, "contact.regraded", {"reference_id": "r1"})
        session.commit()
        assert event is not None
        return event.id


def _last_error(factory: sessionmaker[Session], event_id: str) -> str:
    with factory() as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.id == event_id)).one()
        return event.last_error or ""


def test_rebinding_to_loopback_is_refused_at_delivery(factory: sessionmaker[Session]) -> None:
    receiver = Receiver()
    port = free_port()
    with serve(receiver, port):
        event_id = _event_for(factory, f"http://hooks.rebind.test:{port}/hook")
        dns = FakeDns({"hooks.rebind.test": ["127.0.0.1"]})  # public at creation, loopback now
        sender = WebhookSender(factory, policy=DestinationPolicy(allow_http=True), resolver=dns)
        try:
            assert sender.deliver_due() == 0
        finally:
            sender.close()
    assert receiver.received == []
    assert dns.lookups == ["hooks.rebind.test"]
    assert "destination refused" in _last_error(factory, event_id)
    assert "loopback" in _last_error(factory, event_id)


@pytest.mark.parametrize(
    "answers",
    [["93.184.216.34", "10.0.0.7"], ["169.254.169.254"], ["::ffff:127.0.0.1"], ["fd00::1", "2606:4700::1"]],
)
def test_every_resolved_address_must_be_public(factory: sessionmaker[Session], answers: list[str]) -> None:
    event_id = _event_for(factory, "https://hooks.multi.test/hook")
    dns = FakeDns({"hooks.multi.test": answers})
    sender = WebhookSender(factory, resolver=dns)
    try:
        assert sender.deliver_due() == 0
    finally:
        sender.close()
    assert "destination refused" in _last_error(factory, event_id)


def test_delivery_connects_to_the_checked_address_with_the_original_host(
    factory: sessionmaker[Session],
) -> None:
    receiver = Receiver()
    port = free_port()
    with serve(receiver, port):
        _event_for(factory, f"http://hooks.internal.test:{port}/hook")
        dns = FakeDns({"hooks.internal.test": ["127.0.0.1"]})
        policy = DestinationPolicy.from_entries(["hooks.internal.test"], allow_http=True)
        sender = WebhookSender(factory, policy=policy, resolver=dns)
        try:
            assert sender.deliver_due() == 1
        finally:
            sender.close()
    assert dns.lookups == ["hooks.internal.test"]  # one look-up: httpx connected to the checked IP
    headers, _body = receiver.received[0]
    assert headers["Host"] == f"hooks.internal.test:{port}"


def test_stored_url_with_credentials_is_refused_at_delivery(factory: sessionmaker[Session]) -> None:
    receiver = Receiver()
    port = free_port()
    with serve(receiver, port):
        event_id = _event_for(factory, f"http://user:pw@127.0.0.1:{port}/hook")
        policy = DestinationPolicy.from_entries(["127.0.0.1"], allow_http=True)
        sender = WebhookSender(factory, policy=policy)
        try:
            assert sender.deliver_due() == 0
        finally:
            sender.close()
    assert receiver.received == []
    assert "credentials" in _last_error(factory, event_id)


def test_plain_http_is_refused_by_default_even_to_public_hosts(factory: sessionmaker[Session]) -> None:
    event_id = _event_for(factory, "http://93.184.216.34/hook")
    sender = WebhookSender(factory)
    try:
        assert sender.deliver_due() == 0
    finally:
        sender.close()
    assert "WAIHU_WEBHOOK_ALLOW_HTTP" in _last_error(factory, event_id)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("example.com", None),
        ("deadbeef", None),
    ],
)
def test_ip_spellings_are_read_as_the_kernel_reads_them(host: str, address: str | None) -> None:
    parsed = parse_ip(host)
    assert (str(parsed) if parsed else None) == address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "169.254.169.254", "0.0.0.0",
        "224.0.0.251", "239.255.255.250", "255.255.255.255", "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1",
        "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:a9fe:a9fe::",
        "2001:0:4136:e378:8000:63bf:80ff:fffe", "2001:db8::1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_allow_list_entries_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = DestinationPolicy.from_entries(
        ["127.0.0.1", "10.0.0.0/8", "Hooks.Internal.", " "], allow_http=True
    )
    assert policy.allowed_hosts == frozenset({"hooks.internal"})
    assert [str(n) for n in policy.allowed_networks] == ["127.0.0.1/32", "10.0.0.0/8"]
    policy.check_at_creation("http://10.2.3.4/hook")
    with pytest.raises(DestinationRefused):
        policy.check_at_creation("http://192.168.1.1/hook")
    with pytest.raises(ValueError, match="allow-list entry"):
        DestinationPolicy.from_entries(["http://bad/"])
    monkeypatch.setenv("WAIHU_WEBHOOK_ALLOW", "127.0.0.1, hooks.internal")
    monkeypatch.setenv("WAIHU_WEBHOOK_ALLOW_HTTP", "1")
    monkeypatch.setenv("WAIHU_METRICS_PUBLIC", "0")
    monkeypatch.setenv("WAIHU_DEFAULT_REGION", "us")
    reload_environment()
    settings = Settings.from_env()
    assert settings.webhook_allow == ("127.0.0.1", "hooks.internal") and settings.webhook_allow_http
    assert settings.default_region == "US" and not settings.metrics_public
    assert policy_from_settings(settings).allow_http
    defaults = Settings()
    assert not defaults.webhook_allow_http and defaults.webhook_allow == () and not defaults.metrics_public


def test_redacted_url_has_no_credentials() -> None:
    assert redact_url("https://crm:hunter2@93.184.216.34/hook?x=1") == "https://93.184.216.34/hook?x=1"
    assert redact_url("https://93.184.216.34/hook") == "https://93.184.216.34/hook"
    assert redact_url(None) is None
