"""Webhook outbox: events are written in the same transaction as the change they report, then pushed.

Each POST carries ``{"id", "type", "created_at", "campaign_id", "data"}`` and the header
``X-Waihu-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the campaign secret>``.
A failed push (non-2xx, timeout, refused) is retried with exponential backoff persisted in the row, so a
receiver that is down for a while gets every event once it is back; receivers dedupe on ``id``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

import httpx
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from waihu.call_record import iso
from waihu.privacy import mask_phones_in
from waihu.service.db import begin_write
from waihu.service.models import Campaign, WebhookEvent, utcnow
from waihu.service.webhook_destinations import (
    DestinationPolicy,
    DestinationRefused,
    Resolver,
    system_resolver,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Waihu-Signature"
EVENT_ID_HEADER = "X-Waihu-Event-Id"
EVENT_TYPE_HEADER = "X-Waihu-Event-Type"


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    header: str, body: bytes, secret: str, *, tolerance_s: int = 300, now: float | None = None
) -> bool:
    """For receivers: True when ``header`` signs the raw ``body`` with ``secret`` and is recent enough.

    ``tolerance_s`` bounds the age of the timestamp (replay protection); 0 disables the check.
    """
    try:
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    if tolerance_s and abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


_last_id_ns = 0
_id_lock = threading.Lock()


def new_event_id() -> str:
    """32 hex characters that sort by creation time (strictly increasing within a process)."""
    global _last_id_ns
    with _id_lock:
        _last_id_ns = max(_last_id_ns + 1, time.time_ns())
        stamp = _last_id_ns
    return f"{stamp:016x}{secrets.token_hex(8)}"


def enqueue_event(
    session: Session,
    campaign: Campaign,
    event_type: str,
    data: dict[str, Any] | BaseModel,
    now: dt.datetime | None = None,
) -> WebhookEvent | None:
    """Add an event to the outbox in the caller's transaction; None when the campaign has no webhook.

    ``data``: the payload, or the API's view of the resource (``AttemptView``, ``ContactView`` …) whose
    JSON it becomes, so webhooks and the API never drift apart.
    """
    if not campaign.webhook_url:
        return None
    payload = data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else data
    event = outbox_event(campaign.id, event_type, payload, now or utcnow())
    session.add(event)
    return event


def outbox_event(
    campaign_id: int, event_type: str, data: dict[str, Any], now: dt.datetime, **columns: Any
) -> WebhookEvent:
    """A new outbox row, due ``now``; ``columns`` set more (e.g. a post-call ``notify``'s ``url``)."""
    values: dict[str, Any] = {
        "id": new_event_id(),
        "campaign_id": campaign_id,
        "type": event_type,
        "payload": data,
        "attempts": 0,
        "next_try_at": now,
        "created_at": now,
    }
    return WebhookEvent(**(values | columns))


def event_body(event: WebhookEvent) -> bytes:
    """The exact bytes POSTed for ``event`` (what the signature covers)."""
    envelope = {
        "id": event.id,
        "type": event.type,
        "created_at": iso(event.created_at),
        "campaign_id": event.campaign_id,
        "data": event.payload,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Backoff:
    """Delay before try ``n`` (1-based count of failures): ``base_s * 2**(n-1)``, capped; give up after."""

    base_s: float = 5.0
    cap_s: float = 300.0
    max_tries: int = 30  # 5 s … 5 min, then every 5 min: about 2 hours of outage before giving up

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed tries."""
        return min(self.cap_s, self.base_s * 2 ** max(0, failures - 1))


@dataclass(frozen=True)
class _Due:
    event: WebhookEvent
    url: str
    secret: str


class WebhookSender:
    """Delivers due outbox events. Run :meth:`deliver_due` periodically (any number of senders).

    Each delivery resolves the URL's host, checks every address against ``policy`` (default: public
    HTTPS only) and connects to the checked address; redirects are not followed and proxies from the
    environment are not used, so the request goes nowhere else.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
        batch: int = 50,
        client: httpx.Client | None = None,
        policy: DestinationPolicy | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.factory = factory
        self.backoff = backoff or Backoff()
        self.timeout_s = timeout_s
        self.batch = batch
        self.policy = policy or DestinationPolicy()
        self.resolver = resolver
        self.client = client or httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def _take_due(self, now: dt.datetime) -> list[_Due]:
        """Lease due events (push their next try past the send timeout) so other senders skip them."""
        lease_until = now + dt.timedelta(seconds=self.timeout_s + 30)
        with self.factory() as session:
            begin_write(session)
            query = (
                select(WebhookEvent, Campaign.webhook_url, Campaign.webhook_secret, Campaign.post_call)
                .join(Campaign, Campaign.id == WebhookEvent.campaign_id)
                .where(WebhookEvent.next_try_at.is_not(None), WebhookEvent.next_try_at <= now)
                .order_by(WebhookEvent.next_try_at, WebhookEvent.id)
                .limit(self.batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=WebhookEvent)
            due = []
            rows = cast(list[tuple[WebhookEvent, str | None, str | None, Any]], session.execute(query).all())
            for event, url, secret, post_call in rows:
                if event.url:  # a post-call ``notify``: its own endpoint, signed with its own secret
                    url, secret = event.url, (post_call or {}).get("secret")
                leased = session.execute(
                    update(WebhookEvent)
                    .where(WebhookEvent.id == event.id, WebhookEvent.next_try_at == event.next_try_at)
                    .values(next_try_at=lease_until)
                )
                if leased.rowcount == 1 and url:  # type: ignore[attr-defined]
                    due.append(_Due(event, url, secret or ""))
            session.commit()
        return due

    def _send(self, item: _Due) -> tuple[int | None, str | None]:
        try:
            target = self.policy.target(item.url, self.resolver)
        except DestinationRefused as exc:
            log.warning("webhook %s %s: destination refused: %s", item.event.type, item.event.id, exc)
            return None, f"destination refused: {exc}"[:500]
        body = event_body(item.event)
        headers = {
            "Content-Type": "application/json",
            "Host": target.host_header,
            SIGNATURE_HEADER: sign(body, item.secret, int(time.time())),
            EVENT_ID_HEADER: item.event.id,
            EVENT_TYPE_HEADER: item.event.type,
            "User-Agent": "waihu-webhooks/1",
        }
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        try:
            response = self.client.post(
                target.url, content=body, headers=headers, timeout=self.timeout_s, extensions=extensions
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def deliver_due(self, now: dt.datetime | None = None) -> int:
        """Try every due event once; return how many were delivered."""
        clock = now or utcnow()
        delivered = 0
        for item in self._take_due(clock):
            status, error = self._send(item)
            failures = item.event.attempts + 1
            sent_at = utcnow() if now is None else clock
            values: dict[str, Any] = {"attempts": failures, "last_status": status, "last_error": error}
            if error is None:
                values |= {"delivered_at": sent_at, "next_try_at": None}
                delivered += 1
            elif failures >= self.backoff.max_tries:
                values |= {"failed_at": sent_at, "next_try_at": None}
                log.warning("webhook %s %s given up after %d tries", item.event.type, item.event.id, failures)
            else:
                delay = self.backoff.delay(failures)
                values["next_try_at"] = sent_at + dt.timedelta(seconds=delay)
                log.info(
                    "webhook %s %s failed (%s), retry in %.0f s",
                    item.event.type,
                    item.event.id,
                    mask_phones_in(error),
                    delay,
                )
            with self.factory() as session:
                begin_write(session)
                session.execute(update(WebhookEvent).where(WebhookEvent.id == item.event.id).values(**values))
                session.commit()
        return delivered
