"""A thread that runs the periodic service chores: deliver webhooks, recover attempts of dead workers,
expire contacts, end campaigns past their ``not_after`` and apply data retention."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from waihu.service.expiry import expire_overdue
from waihu.service.retention import RetentionDefaults, apply_retention
from waihu.service.scheduler import recover_stale
from waihu.service.webhook_destinations import DestinationPolicy
from waihu.service.webhooks import WebhookSender

log = logging.getLogger(__name__)


class Chores:
    """Runs :func:`recover_stale`, :func:`expire_overdue` and :meth:`WebhookSender.deliver_due` every
    ``interval_s``, and :func:`apply_retention` every ``retention_interval_s``."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        interval_s: float = 2.0,
        *,
        webhook_policy: DestinationPolicy | None = None,
        retention: RetentionDefaults | None = None,
        recordings_dir: Path | None = None,
        retention_interval_s: float = 600.0,
    ) -> None:
        self.factory = factory
        self.interval_s = interval_s
        self.retention = retention or RetentionDefaults()
        self.recordings_dir = recordings_dir
        # Retention works in days: a pass every few minutes is plenty (the first round runs one).
        self.retention_interval_s = retention_interval_s
        self._retention_due = 0.0
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
        if time.monotonic() >= self._retention_due:
            self._retention_due = time.monotonic() + self.retention_interval_s
            try:
                with self.factory() as session:
                    apply_retention(session, self.retention, self.recordings_dir)
            except Exception:
                log.exception("data retention failed")

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
