"""Dial outcomes: mapping SIP final responses and timers to what a campaign needs to know."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.call import Call


class CallOutcome(StrEnum):
    """How a dial attempt ended."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    INVALID_NUMBER = "invalid_number"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


class HangupBy(StrEnum):
    """Who ended an answered call."""

    CALLEE = "callee"
    ROBOT = "robot"
    SEAT = "seat"
    #: The call died without a BYE from anyone (transport error, media timeout, engine stop).
    NETWORK = "network"


_CODE_OUTCOMES: dict[int, CallOutcome] = {
    408: CallOutcome.NO_ANSWER,
    480: CallOutcome.NO_ANSWER,
    486: CallOutcome.BUSY,
    600: CallOutcome.BUSY,
    404: CallOutcome.INVALID_NUMBER,
    484: CallOutcome.INVALID_NUMBER,
    604: CallOutcome.INVALID_NUMBER,
    603: CallOutcome.REJECTED,
    403: CallOutcome.REJECTED,
    500: CallOutcome.UNAVAILABLE,
    502: CallOutcome.UNAVAILABLE,
    503: CallOutcome.UNAVAILABLE,
}


def classify(sip_code: int, *, cancelled_by_us: bool = False, transport_error: bool = False) -> CallOutcome:
    """Map the final SIP status of an unanswered INVITE to a :class:`CallOutcome`.

    ``cancelled_by_us``: we sent CANCEL after our ring timeout (then 487, or anything else, is no answer).
    Codes not in the table: other 4xx/5xx/6xx fall into the nearest class (4xx and 5xx unavailable,
    6xx rejected); pjsip's own 408/503 after a transport failure are ``failed``.
    """
    if transport_error:
        return CallOutcome.FAILED
    if cancelled_by_us:
        return CallOutcome.NO_ANSWER
    if 200 <= sip_code < 300:
        return CallOutcome.ANSWERED
    if sip_code in _CODE_OUTCOMES:
        return _CODE_OUTCOMES[sip_code]
    if sip_code == 487:  # cancelled by someone else than us (a proxy's timer): nobody picked up
        return CallOutcome.NO_ANSWER
    if 400 <= sip_code < 600:
        return CallOutcome.UNAVAILABLE
    if sip_code >= 600:
        return CallOutcome.REJECTED
    return CallOutcome.FAILED


@dataclass(frozen=True)
class DialOutcome:
    """The result of :meth:`telephony.SipEngine.dial`.

    Timestamps are ``time.time()`` seconds: ``started_at`` when the INVITE was sent, ``ring_at`` at
    the first 18x, ``answer_at`` at CONFIRMED, ``end_at`` at the final failure (None while an
    answered call is up: see :attr:`Call.end_at`). ``call`` is set only when answered.
    """

    outcome: CallOutcome
    sip_code: int
    reason: str
    started_at: float
    ring_at: float | None = None
    answer_at: float | None = None
    end_at: float | None = None
    call: Call | None = None
    #: Why an early-media listener stopped the ringing (see :class:`telephony.early.EarlyMedia`).
    stop_reason: str | None = None

    @property
    def setup_s(self) -> float | None:
        """Seconds from INVITE to CONFIRMED (answered calls only)."""
        return None if self.answer_at is None else self.answer_at - self.started_at
