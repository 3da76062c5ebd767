"""Vocabulary of the service: states, attempt outcomes, who hung up, webhook event types.

Attempt outcomes use the same strings as :class:`telephony.outcome.CallOutcome` (answered, no_answer, busy,
invalid_number, rejected, unavailable, failed) plus ``lost``: the worker died or lost its lease while the
attempt was in progress, so nobody knows how the call ended. Carrier announcements in early media
add ``powered_off`` (关机), ``suspended`` (停机) and ``unreachable`` (无法接通), and may also decide
``invalid_number`` (空号) or ``busy`` (see :mod:`waihu.cpa`); an answering machine is ``voicemail``.
"""

from __future__ import annotations

from typing import Literal, get_args

CampaignState = Literal["scheduling", "executing", "paused", "succeeded", "cancelled", "failed"]
ContactState = Literal["pending", "dialling", "in_call", "done"]
AttemptStatus = Literal["dialling", "in_call", "finished"]
AttemptOutcome = Literal[
    "answered",
    "no_answer",
    "busy",
    "invalid_number",
    "rejected",
    "unavailable",
    "failed",
    "lost",
    "powered_off",
    "suspended",
    "unreachable",
    "voicemail",
]
AttemptHangupBy = Literal["callee", "robot", "seat", "network", "system"]
Role = Literal["strategy", "operator", "admin"]
EventType = Literal[
    "call.finished", "contact.finished", "contact.regraded", "campaign.state_changed", "seat.offered"
]

CAMPAIGN_STATES: tuple[str, ...] = get_args(CampaignState)
ATTEMPT_OUTCOMES: tuple[str, ...] = get_args(AttemptOutcome)
ROLES: tuple[str, ...] = get_args(Role)

#: Campaign states in which the scheduler dials.
RUNNABLE_STATES: tuple[str, ...] = ("scheduling", "executing")
#: Campaign states that never change again.
TERMINAL_STATES: tuple[str, ...] = ("succeeded", "cancelled", "failed")
#: Attempt statuses of a call in progress (the worker holds a lease on it).
IN_PROGRESS: tuple[str, ...] = ("dialling", "in_call")
#: Final outcomes of a contact that never produced an attempt outcome.
DNC_BLOCKED = "dnc_blocked"
CANCELLED = "cancelled"
EXPIRED = "expired"
#: The per-phone frequency cap left no calling window before the campaign's end.
FREQUENCY_CAPPED = "frequency_capped"
#: Retry-policy key (not an outcome) for a ``lost`` attempt whose callee had answered: no rule, no
#: re-dial (the default; a customer who was talking is never called again by surprise).
LOST_AFTER_ANSWER = "lost_after_answer"
#: Keys of a campaign's retry policy: the attempt outcomes plus :data:`LOST_AFTER_ANSWER`.
RetryKey = AttemptOutcome | Literal["lost_after_answer"]
