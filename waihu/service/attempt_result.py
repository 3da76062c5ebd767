"""What a worker reports when an attempt ends: the dial outcome plus, when answered, the engine's result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dialog.state import CallResult

_HANGUP_BY_ENGINE_OUTCOME = {
    "callee_hangup": "callee",
    "robot_hangup": "robot",
    "transferred": "seat",
    "transfer_failed": "robot",
}


@dataclass
class AttemptResult:
    """The end of one attempt.

    ``outcome``: answered, no_answer, busy, invalid_number, rejected, unavailable, failed (the strings of
    :class:`telephony.outcome.CallOutcome`). ``call``: the engine's :class:`~dialog.state.CallResult` for an
    answered call (grade, tags, KB hits, rounds, node × intent trace). Times are aware datetimes.
    ``hangup_by`` defaults from the engine's outcome (callee/robot/seat) when left out.
    """

    outcome: str
    sip_code: int | None = None
    sip_reason: str | None = None
    hangup_by: str | None = None
    started_at: dt.datetime | None = None
    ring_at: dt.datetime | None = None
    answer_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    call: CallResult | None = None
    recording_path: str | None = None
    extra_tags: list[str] = field(default_factory=list)
    #: What the carrier's early media said when it decided the outcome (空号, 已关机 …).
    carrier_announcement: str | None = None

    def columns(self, now: dt.datetime) -> dict[str, Any]:
        """Values for the attempt row."""
        call = self.call
        hangup_by = self.hangup_by
        if hangup_by is None and call is not None:
            hangup_by = _HANGUP_BY_ENGINE_OUTCOME.get(call.outcome)
        return {
            "outcome": self.outcome,
            "sip_code": self.sip_code,
            "sip_reason": (self.sip_reason or None) and self.sip_reason[:200],
            "hangup_by": hangup_by,
            "hangup_reason": call.hangup_reason if call is not None else None,
            "started_at": self.started_at,
            "ring_at": self.ring_at,
            "answer_at": self.answer_at,
            "end_at": self.end_at or now,
            "grade": call.grade if call is not None else None,
            "grade_label": call.grade_label if call is not None else "",
            "tags": [*(call.tags if call is not None else []), *self.extra_tags],
            "kb_hits": list(call.kb_hits) if call is not None else [],
            "rounds": call.rounds if call is not None else 0,
            "transcript": [turn.model_dump(mode="json") for turn in call.trace] if call is not None else [],
            "recording_path": self.recording_path,
            "carrier_announcement": (self.carrier_announcement or None) and self.carrier_announcement[:500],
        }

    @property
    def dnc(self) -> bool:
        """The callee asked never to be called again."""
        return self.call is not None and self.call.dnc
