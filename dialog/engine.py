"""The flow engine: pure and deterministic. Events in, actions out, no I/O.

The core is the two-dimensional answer table: for the current node and the callee's intent the
engine finds a cell (node row first, then the global row, then the knowledge base), applies its
tags, says its reply and takes its next step. No-input and no-match are counted per node and per
call; past the limits the flow ends politely.
"""

from __future__ import annotations

from collections.abc import Mapping

from dialog import actions as act
from dialog import events as ev
from dialog.grading import grade_call
from dialog.live_data import render_url
from dialog.schema import FAQ_PREFIX, Cell, FetchSpec, Flow, KBEntry, Node
from dialog.state import CallResult, CallState, FetchRecord, Spoken, Turn
from dialog.templates import render, split_recorded

_DO_NOT_CALL = "do_not_call"


def _as_action(spoken: Spoken) -> act.Say:
    parts = tuple((text, audio) for text, audio in spoken.parts)
    return act.Say(spoken.text, spoken.audio, spoken.barge_in, spoken.node, parts)


class EngineError(RuntimeError):
    """The engine was driven in a way that makes no sense (e.g. an event before start)."""


class Engine:
    """Runs one call of ``flow``. Create, call :meth:`start`, then :meth:`handle` each event."""

    def __init__(self, flow: Flow, state: CallState | None = None) -> None:
        self.flow = flow
        self.state = state or CallState(flow_id=flow.flow.id, flow_version=flow.flow.version)
        self._pending_turn: Turn | None = None
        self._utterance_buffer: list[Spoken] = []

    # ----------------------------------------------------------------- public API
    def start(self, variables: Mapping[str, str] | None = None) -> list[act.Action]:
        """The call was answered: fill variables (declared defaults first) and greet."""
        if self.state.phase != "new":
            raise EngineError("the call has already started")
        given = {key: str(value) for key, value in (variables or {}).items() if str(value) != ""}
        missing = self.flow.missing_variables(given)
        if missing:
            raise EngineError(f"required variables missing: {', '.join(missing)}")
        values = {name: var.default for name, var in self.flow.variables.items()}
        values.update(given)
        self.state.variables = values
        return self._enter(self.flow.start)

    @classmethod
    def resume(cls, flow: Flow, state_json: str) -> Engine:
        """Rebuild an engine from :meth:`dump_state` output; it continues identically."""
        state = CallState.model_validate_json(state_json)
        if (state.flow_id, state.flow_version) != (flow.flow.id, flow.flow.version):
            wanted = f"{state.flow_id} v{state.flow_version}"
            raise EngineError(f"state belongs to flow {wanted}, not {flow.flow.id} v{flow.flow.version}")
        return cls(flow, state)

    def dump_state(self) -> str:
        """The call state as JSON."""
        return self.state.model_dump_json()

    @property
    def finished(self) -> bool:
        """True once the call has ended (hang-up or completed transfer)."""
        return self.state.phase == "finished"

    def result(self) -> CallResult:
        """The graded result of a finished call."""
        return CallResult.from_state(self.state)

    def handle(self, event: ev.Event) -> list[act.Action]:
        """Apply one event and return the actions to carry out."""
        if isinstance(event, ev.Answered):
            return self.start() if self.state.phase == "new" else []
        if self.state.phase == "new":
            raise EngineError("call start() (or send Answered) before other events")
        if self.state.phase == "finished":
            return []
        if isinstance(event, ev.CalleeHangup):
            self._finish("callee_hangup", "callee")
            return []
        if isinstance(event, ev.TransferCompleted):
            if self.state.phase == "transferring":
                self._finish("transferred", "transferred")
            return []
        if isinstance(event, ev.TransferFailed):
            return self._transfer_failed(event.reason)
        if isinstance(event, ev.BargeIn):
            return self._barge_in()
        if isinstance(event, ev.DataFetched):
            return self._data_fetched(event) if self.state.phase == "fetching" else []
        if self.state.phase != "listening":
            return []
        if isinstance(event, ev.UserUtterance):
            return self._on_intent(
                "utterance", event.text, event.intent, event.confidence, event.entities, event.guess
            )
        if isinstance(event, ev.NoInput):
            return self._on_intent("no_input", "", "no_input", 1.0)
        if isinstance(event, ev.DtmfDigit):
            intent = self._node.dtmf.get(event.digit, "no_match")
            return self._on_intent("dtmf", event.digit, intent, 1.0)
        raise EngineError(f"unknown event {event!r}")

    # ----------------------------------------------------------------- helpers
    @property
    def _node(self) -> Node:
        assert self.state.node is not None
        return self.flow.nodes[self.state.node]

    def _render(self, text: str) -> str:
        return render(text, self.state.variables)

    def _add_tags(self, tags: list[str]) -> list[act.Action]:
        added = [tag for tag in tags if tag not in self.state.tags]
        self.state.tags.extend(added)
        return [act.SetTag(tag) for tag in added]

    def _say(self, text: str, audio: str | dict[str, str] | None = None, barge_in: bool = True) -> act.Say:
        parts: list[tuple[str, str | None]] = []
        if isinstance(audio, dict):
            parts, audio = split_recorded(text, audio, self.state.variables), None
        spoken = Spoken(
            text=self._render(text), audio=audio, barge_in=barge_in, node=self.state.node, parts=parts
        )
        self._utterance_buffer.append(spoken)
        return _as_action(spoken)

    def _pick(self, options: list[str], key: str) -> str:
        """Alternatives are used in turn, so a repeated reply is not word-for-word the same."""
        uses = self.state.cell_uses.get(key, 0)
        self.state.cell_uses[key] = uses + 1
        return options[uses % len(options)]

    def _prompt_actions(self, node_id: str, reprompt: bool) -> list[act.Action]:
        node = self.flow.nodes[node_id]
        index = 0
        if reprompt:
            index = self.state.reprompts.get(node_id, 0) + 1
            self.state.reprompts[node_id] = index
        text = node.prompt[min(index, len(node.prompt) - 1)]
        audio = node.audio if index == 0 else None
        return [self._say(text, audio, node.barge_in)]

    def _listen(self) -> act.Listen:
        node = self._node
        self.state.phase = "listening"
        return act.Listen(
            timeout_s=node.no_input_timeout or self.flow.settings.no_input_timeout,
            end_silence_s=node.end_silence or self.flow.settings.end_silence,
            node=self.state.node or "",
        )

    # ----------------------------------------------------------------- transitions
    def _enter(self, node_id: str) -> list[act.Action]:
        self._utterance_buffer = []
        return self._finish_speech(self._enter_node(node_id))

    def _enter_node(self, node_id: str) -> list[act.Action]:
        node = self.flow.nodes[node_id]
        self.state.node = node_id
        self.state.visited.append(node_id)
        self.state.reprompts[node_id] = 0
        if node.fetch is not None:
            return [*self._add_tags(node.tags), self._fetch(node_id, node.fetch)]
        actions: list[act.Action] = [*self._add_tags(node.tags), *self._prompt_actions(node_id, False)]
        if node.then == "hangup":
            actions.append(self._hangup("flow_end"))
        elif node.then == "transfer":
            actions.append(self._transfer())
        else:
            actions.append(self._listen())
        return actions

    def _fetch(self, node_id: str, spec: FetchSpec) -> act.FetchData:
        """Ask the driver for live data; the call waits (silent, deaf) for :class:`DataFetched`."""
        self.state.phase = "fetching"
        variables = self.state.variables
        return act.FetchData(
            node=node_id,
            url=render_url(spec.url, variables),
            method=spec.method,
            timeout_s=spec.timeout_ms / 1000,
            retries=spec.retries,
            map=dict(spec.map),
            body=dict(variables) if spec.method == "POST" else {},
        )

    def _data_fetched(self, event: ev.DataFetched) -> list[act.Action]:
        """Fill the mapped variables and branch; anything short of every value is the error branch."""
        node_id = self.state.node or ""
        spec = self.flow.nodes[node_id].fetch
        assert spec is not None
        status, detail = event.status, event.detail
        if status not in ("ok", "timeout", "error"):
            status, detail = "error", f"unknown status {event.status!r}"
        missing = [name for name in spec.map if not event.values.get(name)] if status == "ok" else []
        if missing:  # never speak a half-filled sentence
            status, detail = "error", f"no value for {', '.join(missing)}"
        filled = list(spec.map) if status == "ok" else []
        self.state.variables.update({name: event.values[name] for name in filled})
        self.state.fetches.append(FetchRecord(node=node_id, status=status, variables=filled, detail=detail))  # type: ignore[arg-type]
        target = {"ok": spec.on_success, "timeout": spec.on_timeout}.get(status, spec.on_error)
        self._utterance_buffer = []
        if target == "hangup":
            return self._finish_speech([self._hangup(f"fetch_{status}")])
        if target == "transfer":
            return self._finish_speech([self._transfer()])
        return self._finish_speech(self._enter_node(target))

    def _finish_speech(self, actions: list[act.Action]) -> list[act.Action]:
        """Remember what was said for ``repeat`` and the barge-in policy of the latest prompt."""
        if self._utterance_buffer:
            self.state.last_spoken = self._utterance_buffer
            self.state.speaking_barge_in = self._utterance_buffer[-1].barge_in
        if self._pending_turn is not None:
            self._pending_turn.reply = " ".join(item.text for item in self._utterance_buffer)
            self._pending_turn.next_node = self.state.node if self.state.phase != "finished" else None
            self.state.trace.append(self._pending_turn)
            self._pending_turn = None
        return actions

    def _hangup(self, reason: str) -> act.Hangup:
        outcome = "transfer_failed" if self.state.transfer_failed else "robot_hangup"
        self._finish(outcome, reason)
        return act.Hangup(reason)

    def _transfer(self) -> act.Transfer:
        self.state.phase = "transferring"
        grade, _label, tags = grade_call(self.flow.grading, self.state, "transferred")
        turns = (
            self.state.trace[-self.flow.transfer.summary_turns :] if self.flow.transfer.summary_turns else []
        )
        summary = act.TransferSummary(
            name=self.state.variables.get("name", ""),
            grade=grade,
            tags=tags,
            last_turns=[
                {"callee": turn.utterance, "intent": turn.intent, "robot": turn.reply} for turn in turns
            ],
            node=self.state.node or "",
            variables=dict(self.state.variables),
            entities={key: value for turn in self.state.trace for key, value in turn.entities.items()},
        )
        return act.Transfer(summary, self.flow.transfer.skill_group)

    def _finish(self, outcome: str, reason: str) -> None:
        self.state.phase = "finished"
        self.state.outcome = outcome  # type: ignore[assignment]
        self.state.hangup_reason = reason
        grade, label, tags = grade_call(self.flow.grading, self.state, outcome)
        self.state.grade, self.state.grade_label, self.state.final_tags = grade, label, tags

    def _apply_step(self, step: str, reprompt_after: bool = False) -> list[act.Action]:
        """Take a cell's next step once its reply has been queued."""
        if step == "hangup":
            return [self._hangup("flow_end")]
        if step == "transfer":
            return [self._transfer()]
        if step == "repeat":
            replay = [_as_action(item) for item in self.state.last_spoken]
            self._utterance_buffer.extend(self.state.last_spoken)
            return [*replay, self._listen()]
        if step == "return":
            node = self._node
            if node.reask:
                reask = self._say(self._pick(node.reask, f"reask:{self.state.node}"), None, node.barge_in)
                return [reask, self._listen()]
            return [*self._prompt_actions(self.state.node or "", reprompt=False), self._listen()]
        if step == "stay" and reprompt_after:
            return [*self._prompt_actions(self.state.node or "", reprompt=True), self._listen()]
        if step == "stay":
            return [self._listen()]
        return self._enter_node(step)

    def _apply_cell(self, cell: Cell, key: str, intent: str) -> list[act.Action]:
        actions = self._add_tags(cell.tags)
        if (cell.dnc or intent == _DO_NOT_CALL) and not self.state.dnc:
            self.state.dnc = True
            actions.append(act.MarkDoNotCall())
        if cell.reply:
            actions.append(self._say(self._pick(cell.reply, key), cell.audio))
        # `stay` with nothing to say would leave the callee in silence: re-ask instead.
        actions += self._apply_step(cell.next, reprompt_after=not cell.reply)
        return actions

    def _apply_kb(self, entry: KBEntry) -> list[act.Action]:
        self.state.kb_hits.append(entry.id)
        actions = self._add_tags(entry.tags)
        actions.append(self._say(self._pick(entry.answer, f"kb:{entry.id}"), entry.audio))
        step = entry.then
        actions += self._apply_step(step)
        return actions

    def _fallback(self, kind: str, node_id: str, turn: Turn) -> list[act.Action]:
        counts = self.state.node_fallbacks.setdefault(node_id, {"no_input": 0, "no_match": 0})
        counts[kind] += 1
        self.state.call_fallbacks[kind] += 1
        policy = getattr(self.flow.fallbacks, kind)
        node = self.flow.nodes[node_id]
        if policy is not None and (
            counts[kind] > policy.max_per_node or self.state.call_fallbacks[kind] > policy.max_per_call
        ):
            turn.source = "exhausted"
            return self._apply_cell(policy.exhausted, f"exhausted:{kind}", kind)
        cell = node.answers.get(kind)
        if cell is not None:
            return self._apply_cell(cell, f"{node_id}:{kind}", kind)
        cell = self.flow.global_answers.get(kind)
        if cell is not None:
            turn.source = "global"
            return self._apply_cell(cell, f"global:{kind}", kind)
        turn.source = "fallback"
        assert policy is not None  # validation guarantees every listening node handles both events
        actions: list[act.Action] = []
        if policy.replies:
            actions.append(self._say(self._pick(policy.replies, f"fallback:{kind}")))
        actions += self._apply_step("stay", reprompt_after=policy.reprompt)
        return actions

    def _on_intent(
        self,
        kind: str,
        text: str,
        intent: str,
        confidence: float,
        entities: dict[str, str] | None = None,
        guess: str = "",
    ) -> list[act.Action]:
        node_id = self.state.node
        assert node_id is not None
        self.state.rounds += 1
        if intent not in ("no_input", "no_match"):
            guess = intent  # kept even when the threshold below turns it into no_match
        if intent not in ("no_input", "no_match") and confidence < self.flow.settings.nlu_threshold:
            intent = "no_match"
        turn = Turn(
            index=len(self.state.trace) + 1,
            node=node_id,
            kind=kind,  # type: ignore[arg-type]
            utterance=text,
            intent=intent,
            confidence=round(confidence, 4),
            entities=dict(entities or {}),
            guess=guess if kind == "utterance" else "",
        )
        self._pending_turn = turn
        self._utterance_buffer = []
        if intent not in ("no_input", "no_match"):
            self.state.intents_seen.append(intent)
        if self.state.rounds > self.flow.settings.max_turns:
            turn.source, turn.step = "limit", "hangup"
            actions: list[act.Action] = []
            if self.flow.settings.max_turns_reply:
                actions.append(self._say(self.flow.settings.max_turns_reply[0]))
            actions.append(self._hangup("max_turns"))
            return self._finish_speech(actions)
        return self._finish_speech(self._dispatch(turn, node_id, intent))

    def _dispatch(self, turn: Turn, node_id: str, intent: str) -> list[act.Action]:
        node = self.flow.nodes[node_id]
        cell = node.answers.get(intent)
        if cell is not None and intent not in ("no_input", "no_match"):
            turn.step = cell.next
            return self._apply_cell(cell, f"{node_id}:{intent}", intent)
        cell = self.flow.global_answers.get(intent)
        if cell is not None and intent not in ("no_input", "no_match"):
            turn.source, turn.step = "global", cell.next
            return self._apply_cell(cell, f"global:{intent}", intent)
        if intent.startswith(FAQ_PREFIX):
            entry = self.flow.kb_entry(intent.removeprefix(FAQ_PREFIX))
            if entry is not None:
                turn.source, turn.step = "knowledge_base", entry.then
                return self._apply_kb(entry)
        kind = "no_input" if intent == "no_input" else "no_match"
        turn.step = kind
        return self._fallback(kind, node_id, turn)

    def _barge_in(self) -> list[act.Action]:
        if not self.state.speaking_barge_in:
            return []
        self.state.barge_ins += 1
        return [act.StopSpeaking()]

    def _transfer_failed(self, reason: str) -> list[act.Action]:
        if self.state.phase != "transferring":
            return []
        self.state.transfer_failed = True
        self._utterance_buffer = []
        actions = self._add_tags(["transfer_failed"])
        settings = self.flow.transfer
        if settings.failed_reply:
            actions.append(self._say(self._pick(settings.failed_reply, "transfer_failed")))
        if settings.on_failed:
            actions += self._enter_node(settings.on_failed)
        else:
            actions.append(self._hangup(f"transfer_failed:{reason}"))
        return self._finish_speech(actions)
