"""Where webhooks may be sent: public HTTPS hosts, unless the server's allow-list says otherwise.

A strategy key chooses a campaign's ``webhook_url`` and the service POSTs to it: without a policy that
is a server-side request forgery, reaching loopback services, the private network or the cloud metadata
endpoint (169.254.169.254). The policy:

* ``https`` only, unless the server setting ``WAIHU_WEBHOOK_ALLOW_HTTP=1``;
* no ``user:password@`` in the URL;
* every address the host stands for must be public: loopback, private, carrier-grade NAT, link-local,
  multicast, unspecified, reserved and documentation ranges are refused, for IPv4 and IPv6, including
  IPv4 inside IPv6 (mapped ``::ffff:a.b.c.d``, 6to4, Teredo, NAT64) and the legacy spellings of IPv4
  (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``);
* a host name or network (CIDR) in ``WAIHU_WEBHOOK_ALLOW`` is admitted even when private.

It is checked when the campaign is created and again before every delivery, after resolving the name:
the sender then connects to the very address it checked (no second look-up a DNS rebinding could
answer differently), sending the original ``Host`` and TLS server name.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import httpx

from waihu.service.problems import sentence

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses``; the default asks the system resolver.
Resolver = Callable[[str, int], list[str]]

_LEGACY_IPV4 = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)(\.(0[xX][0-9a-fA-F]*|[0-9]+)){0,3}$")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_CREATION_LOOKUP_S = 3.0
_lookups = ThreadPoolExecutor(max_workers=2, thread_name_prefix="waihu-webhook-dns")


class DestinationRefused(ValueError):
    """The webhook URL may not be used; the message says why."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address, accepting what ``inet_aton`` accepts for IPv4 (``127.1``, hex...)."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public destination, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"{reason} (IPv4 {inner} inside IPv6)" if reason else None
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address (cloud metadata lives there)"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """Where to connect for one delivery: ``url`` has the checked IP as its host."""

    url: httpx.URL
    host_header: str
    sni_hostname: str | None


@dataclass(frozen=True)
class DestinationPolicy:
    """The server's webhook destination rules (see the module docstring)."""

    allow_http: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    #: The server settings named in refusals (live-data fetches have their own pair).
    allow_setting: str = "WAIHU_WEBHOOK_ALLOW"
    allow_http_setting: str = "WAIHU_WEBHOOK_ALLOW_HTTP"

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[str],
        *,
        allow_http: bool = False,
        settings: tuple[str, str] = ("WAIHU_WEBHOOK_ALLOW", "WAIHU_WEBHOOK_ALLOW_HTTP"),
    ) -> DestinationPolicy:
        """A policy admitting the host names, IPs and CIDRs in ``entries``; ValueError on a bad one."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            if "/" in entry or parse_ip(entry) is not None:
                ip = parse_ip(entry)
                try:
                    networks.append(ipaddress.ip_network(str(ip) if ip else entry, strict=False))
                except ValueError as exc:
                    raise ValueError(
                        f"webhook allow-list entry {raw!r} is not a host name, IP or CIDR"
                    ) from exc
            elif re.fullmatch(r"[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9_])?", entry):
                hosts.add(entry)
            else:
                raise ValueError(f"webhook allow-list entry {raw!r} is not a host name, IP or CIDR")
        return cls(allow_http, frozenset(hosts), tuple(networks), *settings)

    def _parse(self, url: str) -> tuple[httpx.URL, str, IPAddress | None]:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise DestinationRefused(sentence("url_invalid", reason=str(exc))) from exc
        allowed = ("http", "https") if self.allow_http else ("https",)
        if parsed.scheme not in allowed:
            if self.allow_http:
                raise DestinationRefused(sentence("url_scheme", schemes=" or ".join(allowed)))
            raise DestinationRefused(sentence("url_scheme_https", setting=self.allow_http_setting))
        if parsed.userinfo or "@" in parsed.netloc.decode("ascii", "replace"):
            raise DestinationRefused(sentence("url_credentials"))
        host = parsed.raw_host.decode("ascii").lower().rstrip(".")
        if not host:
            raise DestinationRefused(sentence("url_no_host"))
        return parsed, host, parse_ip(host)

    def _check_address(self, host: str, ip: IPAddress) -> None:
        if host in self.allowed_hosts:
            return
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
            candidates.append(inner)
        if any(c in net for c in candidates for net in self.allowed_networks if c.version == net.version):
            return
        reason = blocked_reason(ip)
        if reason:
            if str(ip) != host:
                raise DestinationRefused(
                    sentence(
                        "url_address_blocked",
                        host=host,
                        reason=reason,
                        ip=str(ip),
                        setting=self.allow_setting,
                    )
                )
            raise DestinationRefused(
                sentence("url_host_blocked", host=host, reason=reason, setting=self.allow_setting)
            )

    def _addresses(self, host: str, ip: IPAddress | None, port: int, resolver: Resolver) -> list[IPAddress]:
        if ip is not None:
            return [ip]
        try:
            found = [parse_ip(address) for address in resolver(host, port)]
        except (OSError, UnicodeError) as exc:
            raise DestinationRefused(sentence("url_unresolved", host=host, reason=str(exc))) from exc
        addresses = [address for address in found if address is not None]
        if not addresses:
            raise DestinationRefused(sentence("url_no_address", host=host))
        return addresses

    def check_at_creation(self, url: str, resolver: Resolver = system_resolver) -> None:
        """Refuse ``url`` if its scheme, credentials or (resolved, when it resolves now) host are not allowed.

        A name that does not resolve yet (or not within a few seconds) is accepted: every delivery
        resolves and checks it again.
        """
        parsed, host, ip = self._parse(url)
        if ip is None and host in self.allowed_hosts:
            return
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if ip is None:
            lookup = _lookups.submit(self._addresses, host, None, port, resolver)
            try:
                addresses = lookup.result(timeout=_CREATION_LOOKUP_S)
            except (DestinationRefused, FutureTimeout) as exc:
                log.info("webhook host %s not resolvable at creation (%s); checked at delivery", host, exc)
                return
        else:
            addresses = [ip]
        for address in addresses:
            self._check_address(host, address)

    def target(self, url: str, resolver: Resolver = system_resolver) -> Target:
        """Resolve ``url`` for a delivery, check every address and pin the first one."""
        parsed, host, ip = self._parse(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = self._addresses(host, ip, port, resolver)
        for address in addresses:
            self._check_address(host, address)
        pinned = addresses[0]
        return Target(
            url=parsed.copy_with(host=str(pinned)),
            host_header=parsed.netloc.decode("ascii"),
            sni_hostname=host if ip is None and parsed.scheme == "https" else None,
        )


def redact_url(url: str | None) -> str | None:
    """``url`` without any ``user:password@`` part (for showing a stored URL)."""
    if not url:
        return url
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "(invalid URL)"
    return str(parsed.copy_with(userinfo=b"")) if parsed.userinfo else url


def policy_from_settings(settings: object) -> DestinationPolicy:
    """The policy of a :class:`~waihu.service.settings.Settings` (``webhook_allow*`` fields)."""
    return DestinationPolicy.from_entries(
        getattr(settings, "webhook_allow", ()),
        allow_http=bool(getattr(settings, "webhook_allow_http", False)),
    )
