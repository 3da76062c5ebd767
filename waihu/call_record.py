"""The one record of a finished call, from the voice loop to the attempt row, the API and the webhooks.

The SIP layer stamps a call with epoch floats (``ring_at``/``answer_at``/``end_at``); the driver that ran
the call fills one :class:`CallRecord` with the same names as aware UTC datetimes; the service stores it
with :meth:`CallRecord.columns` into the attempt row, whose columns, the API's ``AttemptView`` and the
``call.finished`` webhook carry those names too. ``waihu dial`` prints :meth:`CallRecord.to_dict`: the
same field names and ISO form as the API's result, plus what only a live run knows (spoken lines with
their times, reply latencies, loop events, seat legs).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dialog.state import CallResult

#: Who ended an answered call, by the engine's outcome, when the telephony layer did not say.
_HANGUP_BY_ENGINE_OUTCOME = {
    "callee_hangup": "callee",
    "robot_hangup": "robot",
    "transferred": "seat",
    "transfer_failed": "robot",
}


def utc_from_epoch(epoch: float | None) -> dt.datetime | None:
    """An aware UTC datetime from the SIP layer's epoch seconds (None and 0 stay None)."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch else None


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` (the API's form), or None."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def seconds_between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    """``end - start`` in seconds (3 decimals), None when either is unknown."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


@dataclass
class CallRecord:
    """One attempt's call, however far it got.

    ``outcome``: answered, no_answer, busy, invalid_number, rejected, unavailable, failed, voicemail, lost
    (the SIP ones are :class:`telephony.outcome.CallOutcome`'s strings, or the carrier announcement's class).
    ``conversation``: the engine's :class:`~dialog.state.CallResult` of an answered call (grade, tags, KB
    hits, rounds, node × intent trace). Times are aware UTC datetimes. ``hangup_by`` defaults from the
    engine's outcome (callee/robot/seat) when the call layer did not say.
    """

    outcome: str
    target: str | None = None
    sip_code: int | None = None
    sip_reason: str | None = None
    hangup_by: str | None = None
    started_at: dt.datetime | None = None
    ring_at: dt.datetime | None = None
    answer_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    conversation: CallResult | None = None
    recording_path: str | None = None
    extra_tags: list[str] = field(default_factory=list)
    #: What the carrier's early media said when it decided the outcome (空号, 已关机 …).
    carrier_announcement: str | None = None
    #: An answering machine answered: how it was recognised and whether a message was left.
    voicemail: dict[str, Any] | None = None
    #: What was said, in order: (seconds since the answer, "robot"/"callee", text).
    lines: list[tuple[float, str, str]] = field(default_factory=list)
    #: Reply latency of each callee turn, end of speech → first robot audio.
    latencies_ms: list[float] = field(default_factory=list)
    #: The voice loop's events (barge-in, endpointing, timers …) with their times.
    events: list[dict[str, Any]] = field(default_factory=list)
    #: The hand-off to a seat: kind, answer and each seat leg (also stored as ``transfer`` rows).
    transfer: dict[str, Any] | None = None

    @property
    def dnc(self) -> bool:
        """The callee asked never to be called again."""
        return self.conversation is not None and self.conversation.dnc

    @property
    def who_hung_up(self) -> str | None:
        """``hangup_by``, or the engine's outcome's side when the call layer did not say."""
        if self.hangup_by is None and self.conversation is not None:
            return _HANGUP_BY_ENGINE_OUTCOME.get(self.conversation.outcome)
        return self.hangup_by

    def columns(self, now: dt.datetime) -> dict[str, Any]:
        """Values for the attempt row (the call never ended on record: ``now``)."""
        return {
            "outcome": self.outcome,
            "sip_code": self.sip_code,
            "sip_reason": (self.sip_reason or None) and self.sip_reason[:200],
            "hangup_by": self.who_hung_up,
            "started_at": self.started_at,
            "ring_at": self.ring_at,
            "answer_at": self.answer_at,
            "end_at": self.end_at or now,
            **self._graded(),
            "transcript": self.transcript(),
            "recording_path": self.recording_path,
            "carrier_announcement": (self.carrier_announcement or None) and self.carrier_announcement[:500],
        }

    def _graded(self) -> dict[str, Any]:
        """What the engine concluded (nothing for an unanswered call): the row's and the JSON's fields."""
        conversation = self.conversation
        if conversation is None:
            return {
                "hangup_reason": None,
                "grade": None,
                "grade_label": "",
                "tags": [*self.extra_tags],
                "kb_hits": [],
                "rounds": 0,
            }
        return {
            "hangup_reason": conversation.hangup_reason,
            "grade": conversation.grade,
            "grade_label": conversation.grade_label,
            "tags": [*conversation.tags, *self.extra_tags],
            "kb_hits": list(conversation.kb_hits),
            "rounds": conversation.rounds,
        }

    def transcript(self) -> list[dict[str, Any]]:
        """The engine's turns (node × intent trace) as JSON, the attempt's and the API's ``transcript``."""
        if self.conversation is None:
            return []
        return [turn.model_dump(mode="json") for turn in self.conversation.trace]

    def to_dict(self) -> dict[str, Any]:
        """JSON for ``waihu dial``: the API result's names and forms, plus what only a live run knows."""
        conversation = self.conversation
        return {
            "target": self.target,
            "outcome": self.outcome,
            "sip_code": self.sip_code,
            "sip_reason": self.sip_reason or "",
            "hangup_by": self.who_hung_up,
            "carrier_announcement": self.carrier_announcement,
            "started_at": iso(self.started_at),
            "ring_at": iso(self.ring_at),
            "answer_at": iso(self.answer_at),
            "end_at": iso(self.end_at),
            "ring_s": seconds_between(self.ring_at, self.answer_at or self.end_at),
            "duration_s": seconds_between(self.answer_at, self.end_at) or 0.0,
            **self._graded(),
            "dnc": self.dnc,
            "conversation_outcome": conversation.outcome if conversation is not None else None,
            "recording_path": self.recording_path,
            "transcript": self.transcript(),
            "lines": [{"t": round(t, 2), "who": who, "text": text} for t, who, text in self.lines],
            "latencies_ms": [round(value) for value in self.latencies_ms],
            "events": self.events,
            "transfer": self.transfer,
            "voicemail": self.voicemail,
        }
