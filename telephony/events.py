"""Events a :class:`telephony.Call` delivers on its ``events`` queue (plain data, no pjsua2 objects)."""

from __future__ import annotations

from dataclasses import dataclass

from telephony.outcome import HangupBy


@dataclass(frozen=True)
class CallAnswered:
    """The callee answered (the call is CONFIRMED and media flows)."""

    at: float


@dataclass(frozen=True)
class DtmfReceived:
    """A DTMF digit from the callee; ``method`` is ``"rfc2833"`` or ``"info"``."""

    digit: str
    method: str
    duration_ms: int
    at: float


@dataclass(frozen=True)
class PlaybackDrained:
    """Everything queued with ``play()`` has been sent (not emitted after ``stop_playback()``)."""

    at: float


@dataclass(frozen=True)
class TransferResult:
    """The end of a transfer attempt.

    ``seat_answered``: the seat picked up (blind: the final NOTIFY said 2xx; bridged: the second leg
    was answered). ``sip_code``/``reason``: from the NOTIFY (blind) or the seat leg's final response.
    ``offered_at``/``ring_at``/``answer_at`` (bridged): the seat leg's INVITE, first 180/183, answer.
    """

    kind: str
    success: bool
    seat_answered: bool
    sip_code: int
    reason: str
    at: float
    offered_at: float | None = None
    ring_at: float | None = None
    answer_at: float | None = None


@dataclass(frozen=True)
class Ended:
    """The call is over; always the last event.

    ``by`` says who hung up; ``transferred``: the call had been handed to a seat (blind or bridged).
    ``sip_code``/``reason``: pjsip's last status of the dialog (200 after a BYE).
    """

    by: HangupBy
    sip_code: int
    reason: str
    at: float
    recording_path: str | None = None
    transferred: bool = False


@dataclass(frozen=True)
class RemoteHangup(Ended):
    """The callee (or, bridged, the seat) hung up: the :class:`Ended` event for that case."""


CallEvent = CallAnswered | DtmfReceived | PlaybackDrained | TransferResult | Ended
