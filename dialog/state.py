"""Per-call state of the engine: plain data that serialises to JSON and resumes identically."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Phase = Literal["new", "listening", "fetching", "transferring", "finished"]
ConversationEnd = Literal["transferred", "robot_hangup", "callee_hangup", "transfer_failed"]


class Turn(BaseModel):
    """One row of the trace: what the callee did at a node and what the robot did about it."""

    index: int
    node: str
    kind: Literal["utterance", "no_input", "dtmf"]
    utterance: str = ""
    intent: str
    confidence: float = 1.0
    entities: dict[str, str] = Field(default_factory=dict)
    source: Literal["node", "global", "knowledge_base", "fallback", "exhausted", "limit"] = "node"
    reply: str = ""
    next_node: str | None = None
    step: str = ""
    latency_ms: float | None = None
    """Filled by the voice loop: end of the callee's speech → first robot audio."""
    guess: str = ""
    """The NLU's best intent before the flow's threshold (or its top alternative when it answered
    ``no_match``); empty when it had none. The operator's inbox groups unclassified turns by it."""


class FetchRecord(BaseModel):
    """One live-data fetch of the call: where, how it ended, which variables it filled."""

    node: str
    status: Literal["ok", "timeout", "error"]
    variables: list[str] = Field(default_factory=list)
    detail: str = ""


class Spoken(BaseModel):
    """One thing the robot said (kept so ``repeat`` can replay it)."""

    text: str
    audio: str | None = None
    barge_in: bool = True
    node: str | None = None
    parts: list[tuple[str, str | None]] = Field(default_factory=list)


class CallState(BaseModel):
    """Everything the engine knows about one call."""

    flow_id: str
    flow_version: int
    variables: dict[str, str] = Field(default_factory=dict)
    phase: Phase = "new"
    node: str | None = None
    visited: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    intents_seen: list[str] = Field(default_factory=list)
    kb_hits: list[str] = Field(default_factory=list)
    node_fallbacks: dict[str, dict[str, int]] = Field(default_factory=dict)
    call_fallbacks: dict[str, int] = Field(default_factory=lambda: {"no_input": 0, "no_match": 0})
    reprompts: dict[str, int] = Field(default_factory=dict)
    cell_uses: dict[str, int] = Field(default_factory=dict)
    last_spoken: list[Spoken] = Field(default_factory=list)
    speaking_barge_in: bool = True
    barge_ins: int = 0
    rounds: int = 0
    dnc: bool = False
    transfer_failed: bool = False
    trace: list[Turn] = Field(default_factory=list)
    fetches: list[FetchRecord] = Field(default_factory=list)
    outcome: ConversationEnd | None = None
    hangup_reason: str | None = None
    grade: str | None = None
    grade_label: str = ""
    final_tags: list[str] = Field(default_factory=list)


class CallResult(BaseModel):
    """What a finished call reports: outcome, grade, tags, trace."""

    flow_id: str
    flow_version: int
    outcome: ConversationEnd
    hangup_reason: str | None
    grade: str
    grade_label: str
    tags: list[str]
    dnc: bool
    rounds: int
    kb_hits: list[str]
    visited: list[str]
    barge_ins: int
    trace: list[Turn]
    fetches: list[FetchRecord] = Field(default_factory=list)

    @classmethod
    def from_state(cls, state: CallState) -> CallResult:
        """Build the result of a finished call."""
        if state.outcome is None or state.grade is None:
            raise ValueError("the call is not finished")
        return cls(
            flow_id=state.flow_id,
            flow_version=state.flow_version,
            outcome=state.outcome,
            hangup_reason=state.hangup_reason,
            grade=state.grade,
            grade_label=state.grade_label,
            tags=state.final_tags,
            dnc=state.dnc,
            rounds=state.rounds,
            kb_hits=state.kb_hits,
            visited=state.visited,
            barge_ins=state.barge_ins,
            trace=state.trace,
            fetches=state.fetches,
        )
