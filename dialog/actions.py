"""Actions the engine asks its driver (text channel, audio simulator, SIP call) to carry out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Say:
    """Speak ``text`` (or play ``audio`` when the operator recorded it)."""

    text: str
    audio: str | None = None
    barge_in: bool = True
    node: str | None = None
    parts: tuple[tuple[str, str | None], ...] = ()
    """When set: (text, recorded WAV or None) pieces in order; None pieces are synthesised."""


@dataclass(frozen=True)
class Listen:
    """Wait for the callee; raise :class:`~dialog.events.NoInput` after ``timeout_s`` of silence."""

    timeout_s: float
    end_silence_s: float
    node: str


@dataclass(frozen=True)
class StopSpeaking:
    """Stop the robot's audio now (barge-in)."""


@dataclass(frozen=True)
class SetTag:
    """A tag was set on the call."""

    tag: str


@dataclass(frozen=True)
class MarkDoNotCall:
    """The callee asked not to be called again: add the number to the block list."""


@dataclass(frozen=True)
class TransferSummary:
    """What the human seat sees when the call reaches them."""

    name: str
    grade: str
    tags: list[str]
    last_turns: list[dict[str, str]]
    node: str
    variables: dict[str, str] = field(default_factory=dict)
    entities: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Transfer:
    """Hand the call to a human seat of ``skill_group``."""

    summary: TransferSummary
    skill_group: str = "default"


@dataclass(frozen=True)
class Hangup:
    """End the call after the queued speech."""

    reason: str


@dataclass(frozen=True)
class FetchData:
    """Fetch live data for ``node``: the driver answers with :class:`~dialog.events.DataFetched`.

    ``url`` is rendered (variables URL-encoded); ``map`` says which JSON paths fill which variables;
    ``body`` is what a POST sends (the call's variables), empty for a GET.
    """

    node: str
    url: str
    method: str
    timeout_s: float
    retries: int
    map: dict[str, str]
    body: dict[str, str] = field(default_factory=dict)


Action = Say | Listen | StopSpeaking | SetTag | MarkDoNotCall | Transfer | Hangup | FetchData
