"""Exceptions raised by the telephony facade."""

from __future__ import annotations


class TelephonyError(RuntimeError):
    """A pjsua2 operation failed (the message carries pjsua2's own description)."""


class TooManyCalls(TelephonyError):
    """The per-process call cap (4, compiled into pjsua2) is reached: run another worker process."""


class EngineNotRunning(TelephonyError):
    """The engine was not started or has been stopped."""
