"""A thread that runs the periodic service chores: deliver webhooks, recover attempts of dead workers,
expire contacts and end campaigns past their ``not_after``."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from waihu.service.expiry import expire_overdue
from waihu.service.scheduler import recover_stale
from waihu.service.webhook_destinations import DestinationPolicy
from waihu.service.webhooks import WebhookSender

log = logging.getLogger(__name__)


class Chores:
    """Runs :func:`recover_stale`, :func:`expire_overdue` and :meth:`WebhookSender.deliver_due` every
    ``interval_s``."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        interval_s: float = 2.0,
        *,
        webhook_policy: DestinationPolicy | None = None,
    ) -> None:
        self.factory = factory
        self.interval_s = interval_s
        self.sender = WebhookSender(factory, policy=webhook_policy)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        """One round of chores (errors are logged, never raised)."""
        try:
            with self.factory() as session:
                recover_stale(session)
        except Exception:
            log.exception("recover_stale failed")
        try:
            with self.factory() as session:
                expire_overdue(session)
        except Exception:
            log.exception("expire_overdue failed")
        try:
            self.sender.deliver_due()
        except Exception:
            log.exception("webhook delivery failed")

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._loop, name="waihu-chores", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def stop(self) -> None:
        """Stop the thread and close the HTTP client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.sender.close()
