"""Chat sessions of the browser simulator: one :class:`~waihu.conversation.Conversation` per session."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from dialog.schema import Flow
from nlu.base import IntentClassifier
from waihu.conversation import Conversation, TurnOutput


@dataclass
class SimSession:
    """One simulated call: the conversation and what it runs."""

    id: str
    conversation: Conversation
    flow_id: str
    version: int
    language: str
    tenant: str = ""
    touched: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


def turn_view(session: SimSession, output: TurnOutput) -> dict[str, Any]:
    """What the browser shows for one turn: robot lines, node, NLU verdict and, once over, the grade."""
    conv = session.conversation
    trace = conv.engine.state.trace
    last = trace[-1] if trace and output.nlu is not None else None
    view: dict[str, Any] = {
        "said": output.said,
        "node": conv.node,
        "intent": output.nlu.intent if output.nlu else None,
        "confidence": round(output.nlu.confidence, 4) if output.nlu else None,
        "source": last.source if last is not None else None,
        "finished": conv.finished,
        "tags": list(conv.engine.state.tags),
        "result": None,
    }
    if conv.finished:
        result = conv.result()
        view["result"] = {
            "grade": result.grade,
            "grade_label": result.grade_label,
            "tags": result.tags,
            "outcome": result.outcome,
            "dnc": result.dnc,
            "rounds": result.rounds,
            "kb_hits": result.kb_hits,
        }
    return view


class SimulatorStore:
    """Live sessions in memory, oldest dropped beyond ``max_sessions`` or after ``ttl_s`` idle."""

    def __init__(self, max_sessions: int = 200, ttl_s: float = 3600.0) -> None:
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self._sessions: OrderedDict[str, SimSession] = OrderedDict()
        self._lock = threading.Lock()

    def start(
        self,
        flow: Flow,
        version: int,
        classifier: IntentClassifier,
        variables: dict[str, str],
        tenant: str = "",
    ) -> tuple[SimSession, TurnOutput]:
        """Open a session of ``tenant`` and let the robot greet; raises ``EngineError`` for missing
        variables."""
        conv = Conversation(flow, classifier, variables)
        session = SimSession(
            secrets.token_urlsafe(12), conv, flow.flow.id, version, flow.flow.language, tenant=tenant
        )
        output = conv.start()
        with self._lock:
            self._expire()
            self._sessions[session.id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return session, output

    def get(self, session_id: str, tenant: str = "") -> SimSession | None:
        """The live session of ``tenant``, or None when unknown, expired or another tenant's."""
        with self._lock:
            self._expire()
            session = self._sessions.get(session_id)
            if session is not None and session.tenant != tenant:
                return None
            if session is not None:
                session.touched = time.monotonic()
                self._sessions.move_to_end(session_id)
            return session

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.ttl_s
        for key in [key for key, s in self._sessions.items() if s.touched < cutoff]:
            del self._sessions[key]


def act(session: SimSession, kind: str, text: str = "", digit: str = "") -> TurnOutput:
    """Apply one callee action: ``say`` (blank is silence), ``silence``, ``dtmf`` or ``hangup``."""
    conv = session.conversation
    with session.lock:
        if kind == "say":
            return conv.user_says(text)
        if kind == "silence":
            return conv.no_input()
        if kind == "dtmf":
            return conv.dtmf(digit)
        if kind == "hangup":
            return conv.hangup()
    raise ValueError(f"unknown action {kind!r}")
