"""A worker's registration with its trunk: wait for it at start, follow it, report it to the operator.

The operator sees the state three ways: the worker's log, its exit status (3 when the registrar
refuses it at start) and a JSON status file (``waihu worker --status-file``) rewritten at each
change, for a supervisor or a monitoring check::

    {"worker_id": "w1", "state": "registration_failed", "sip_code": 401,
     "reason": "Unauthorized", "detail": "...check the SIP username and password", "at": "..."}

States: ``starting``, ``registered``, ``running`` (no registrar configured), ``unregistered`` (a
re-registration failed: the worker claims nothing until it is back), ``registration_failed``,
``stopped``. A worker that is not registered claims no contact: its calls would all fail.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
#: Exit status of ``waihu worker`` when the registrar refuses it (or never answers) at start.
EXIT_REGISTRATION_FAILED = 3
#: pjsip gives up on an unanswered REGISTER after 32 s (UDP timer F) and reports 408.
FIRST_REGISTRATION_TIMEOUT_S = 40.0


class RegistrationFailed(RuntimeError):
    """The registrar refused the worker or never answered; the message says what to check."""


def write_status(path: Path | None, worker_id: str, state: str, **details: Any) -> None:
    """Replace the status file atomically (a reader never sees half a file); no-op without a path."""
    if path is None:
        return
    record = {"worker_id": worker_id, "state": state, **details, "at": dt.datetime.now(dt.UTC).isoformat()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a status file must never stop the calls
        log.warning("cannot write the status file %s: %s", path, exc)


def explain(registrar: str, code: int, reason: str) -> str:
    """A message the operator can act on, for a failed registration."""
    if code in (401, 403, 407):
        return (
            f"registration refused by {registrar}: {code} {reason} "
            "(check the SIP username and password, and the realm)"
        )
    if code in (0, 408, 503):
        return (
            f"registration to {registrar} got no answer: {code} {reason} (check the address, port, transport)"
        )
    return f"registration to {registrar} failed: {code} {reason}"


class RegistrationGate:
    """Follows one engine's registration; ``ready()`` says whether the worker may claim calls."""

    def __init__(self, engine: Any, worker_id: str, status_file: Path | None) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.status_file = status_file
        reg = engine.config.registration
        self.registrar: str | None = reg.registrar_uri if reg is not None else None
        self._state = "starting"
        write_status(status_file, worker_id, "starting")

    def _registered(self) -> bool:
        answer = self.engine.registration
        return answer is not None and 200 <= answer[0] < 300 and answer[2] > 0

    def _details(self) -> dict[str, Any]:
        if self.engine.registration is None:
            return {"registrar": self.registrar}
        code, reason, expires = self.engine.registration
        return {"registrar": self.registrar, "sip_code": code, "reason": reason, "expires_s": expires}

    async def first(self, timeout_s: float = FIRST_REGISTRATION_TIMEOUT_S) -> None:
        """Wait for the registrar's first answer; raise :class:`RegistrationFailed` unless it is 2xx."""
        if self.registrar is None:
            self._set("running")
            return
        if await self.engine.wait_registered(timeout_s):
            self._set("registered")
            log.warning("worker %s registered with %s", self.worker_id, self.registrar)
            return
        code, reason = (self.engine.registration or (0, "no answer"))[:2]
        message = explain(self.registrar, code, reason)
        self._set("registration_failed", detail=message)
        log.error("worker %s: %s", self.worker_id, message)
        raise RegistrationFailed(message)

    def ready(self) -> bool:
        """True when calls may be made now; logs and reports each change of the registration."""
        if self.registrar is None:
            return True
        ok = self._registered()
        state = "registered" if ok else "unregistered"
        if state != self._state:
            if ok:
                log.warning("worker %s registered again with %s", self.worker_id, self.registrar)
            else:
                code, reason = (self.engine.registration or (0, "no answer"))[:2]
                log.error("%s: claiming nothing until it recovers", explain(self.registrar, code, reason))
            self._set(state)
        return ok

    def stopped(self) -> None:
        """The worker has finished its calls and leaves."""
        self._set("stopped")

    def _set(self, state: str, **extra: Any) -> None:
        self._state = state
        write_status(self.status_file, self.worker_id, state, **self._details(), **extra)
