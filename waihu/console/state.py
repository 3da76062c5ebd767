"""What the console keeps per app: config, classifiers, simulator sessions, TTS and parsed stored flows."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.orm import Session

from dialog.flow_files import STORED_FILES
from dialog.schema import Flow
from waihu.console.chat_sessions import SimulatorStore
from waihu.console.config import ConsoleConfig
from waihu.console.flowtools import ClassifierCache, parse_flow
from waihu.console.speech import SpeechRenderer
from waihu.service.flows import get_flow_version
from waihu.service.models import DEFAULT_TENANT, FlowVersion


@dataclass
class StoredFlow:
    """A stored flow version parsed once."""

    row_id: int
    flow_id: str
    version: int
    text: str
    flow: Flow


@dataclass
class ConsoleState:
    """Per-app console state (``app.state.console``)."""

    config: ConsoleConfig
    classifiers: ClassifierCache
    simulator: SimulatorStore
    speech: SpeechRenderer = field(default_factory=SpeechRenderer)
    _flows: OrderedDict[tuple[str, str, int], StoredFlow] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_config(cls, config: ConsoleConfig) -> ConsoleState:
        """Fresh state for ``config``."""
        return cls(
            config,
            ClassifierCache(config.classifier_kind),
            SimulatorStore(config.max_sim_sessions, config.sim_session_ttl_s),
        )

    def stored_flow(
        self, session: Session, flow_id: str, version: int, tenant: str = DEFAULT_TENANT
    ) -> StoredFlow | None:
        """``tenant``'s stored flow ``flow_id`` at ``version`` parsed (versions never change, so cached)."""
        key = (tenant, flow_id, version)
        with self._lock:
            if key in self._flows:
                self._flows.move_to_end(key)
                return self._flows[key]
        row: FlowVersion | None = get_flow_version(session, flow_id, version, tenant)
        if row is None:
            return None
        flow = parse_flow(row.yaml_text, files=STORED_FILES)  # its recordings were checked at upload
        stored = StoredFlow(row.id, row.flow_id, row.version, row.yaml_text, flow)
        with self._lock:
            self._flows[key] = stored
            while len(self._flows) > 64:
                self._flows.popitem(last=False)
        return stored


def console_state(request: Request) -> ConsoleState:
    """The app's :class:`ConsoleState`."""
    return request.app.state.console
