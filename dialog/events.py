"""Events the engine consumes: what happened on the call."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answered:
    """The callee picked up: the engine greets."""


@dataclass(frozen=True)
class UserUtterance:
    """The callee said something, already understood by the NLU."""

    text: str
    intent: str
    confidence: float = 1.0
    entities: dict[str, str] = field(default_factory=dict)
    #: The classifier's best intent when it answered ``no_match`` (the operator's inbox shows it).
    guess: str = ""


@dataclass(frozen=True)
class NoInput:
    """The callee stayed silent past the node's timeout."""


@dataclass(frozen=True)
class DtmfDigit:
    """The callee pressed a key."""

    digit: str


@dataclass(frozen=True)
class BargeIn:
    """The callee started speaking while the robot was speaking."""


@dataclass(frozen=True)
class CalleeHangup:
    """The callee hung up."""


@dataclass(frozen=True)
class TransferCompleted:
    """A human seat took the call."""


@dataclass(frozen=True)
class TransferFailed:
    """No seat answered (or the transfer was refused)."""

    reason: str = "no_seat"


@dataclass(frozen=True)
class DataFetched:
    """The answer to :class:`~dialog.actions.FetchData`: ``ok`` with every mapped value, or why not.

    ``status``: ``ok``, ``timeout`` or ``error``; ``detail`` says what went wrong (for the trace).
    """

    status: str
    values: dict[str, str] = field(default_factory=dict)
    detail: str = ""


Event = (
    Answered
    | DataFetched
    | UserUtterance
    | NoInput
    | DtmfDigit
    | BargeIn
    | CalleeHangup
    | TransferCompleted
    | TransferFailed
)
