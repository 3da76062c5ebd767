"""The real live-data fetcher: HTTP to the strategy system, signed like the webhooks, SSRF-guarded.

Each request carries ``X-Waihu-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<signed bytes>">``
keyed with ``WAIHU_FETCH_SECRET``; the signed bytes are the JSON body of a POST, and the path with
its query (``/bills/C1001?x=1``) for a GET. Receivers check it with
:func:`waihu.service.webhooks.verify_signature`.

The destination is checked like a webhook's (:mod:`waihu.service.webhook_destinations`): private,
loopback and link-local targets are refused unless ``WAIHU_FETCH_ALLOW`` admits them, plain http
needs ``WAIHU_FETCH_ALLOW_HTTP=1``; the checked address is the one connected to, redirects are not
followed and proxy variables are ignored. The answer is read up to :data:`MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache

import httpx

from dialog.actions import FetchData
from waihu.live_data import FetchAnswer
from waihu.service.webhook_destinations import (
    DestinationPolicy,
    DestinationRefused,
    Resolver,
    system_resolver,
)
from waihu.service.webhooks import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

#: A live-data answer is a few fields: more is refused rather than buffered.
MAX_ANSWER_BYTES = 64 * 1024
FETCH_SETTINGS = ("WAIHU_FETCH_ALLOW", "WAIHU_FETCH_ALLOW_HTTP")


class HttpFetcher:
    """Sends a :class:`FetchData` once over HTTP (see the module docstring)."""

    def __init__(
        self,
        secret: str,
        policy: DestinationPolicy | None = None,
        *,
        client: httpx.Client | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.secret = secret
        self.policy = policy or DestinationPolicy(
            allow_setting=FETCH_SETTINGS[0], allow_http_setting=FETCH_SETTINGS[1]
        )
        self.client = client or httpx.Client(follow_redirects=False, trust_env=False)  # no proxy detours
        self.resolver = resolver

    def fetch(self, request: FetchData) -> FetchAnswer:
        """One try: ``ok`` with the JSON document, ``timeout``, or ``error`` with a reason."""
        try:
            target = self.policy.target(request.url, self.resolver)
        except DestinationRefused as exc:
            log.warning("fetch for node %s: destination refused: %s", request.node, exc)
            return FetchAnswer("error", detail=f"destination refused: {exc}")
        body = json.dumps(request.body, ensure_ascii=False).encode() if request.method == "POST" else b""
        signed = body if request.method == "POST" else httpx.URL(request.url).raw_path
        headers = {
            "Host": target.host_header,
            "Accept": "application/json",
            "User-Agent": "waihu-fetch/1",
            SIGNATURE_HEADER: sign(signed, self.secret, int(time.time())),
        }
        if request.method == "POST":
            headers["Content-Type"] = "application/json"
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        try:
            with self.client.stream(
                request.method,
                target.url,
                content=body or None,
                headers=headers,
                timeout=request.timeout_s,
                extensions=extensions,
            ) as response:
                if not 200 <= response.status_code < 300:
                    return FetchAnswer("error", detail=f"HTTP {response.status_code}")
                raw = _read_limited(response)
        except httpx.TimeoutException as exc:
            return FetchAnswer("timeout", detail=f"{type(exc).__name__}")
        except (httpx.HTTPError, ValueError) as exc:
            return FetchAnswer("error", detail=f"{type(exc).__name__}: {exc}"[:300])
        try:
            return FetchAnswer("ok", json.loads(raw))
        except (ValueError, UnicodeDecodeError) as exc:
            return FetchAnswer("error", detail=f"the answer is not JSON: {exc}"[:300])

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()


def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ValueError(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@lru_cache(maxsize=1)
def fetcher_from_environment() -> HttpFetcher | None:
    """The process's fetcher from ``WAIHU_FETCH_*`` (shared by its calls); None without a secret.

    Without one, fetch nodes take their error branch: an unsigned request would be refused anyway.
    """
    from waihu_env import environment

    env = environment()
    if env.fetch_secret is None:
        return None
    entries = [item for item in env.fetch_allow.split(",") if item.strip()]
    policy = DestinationPolicy.from_entries(entries, allow_http=env.fetch_allow_http, settings=FETCH_SETTINGS)
    return HttpFetcher(env.fetch_secret.get_secret_value(), policy)
