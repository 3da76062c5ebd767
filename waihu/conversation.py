"""The conversation loop's text core: NLU + engine behind one small API.

The text simulator (``waihu chat``), flow tests and the console drive it directly; the audio and
SIP loops wrap it with VAD/ASR in front and TTS behind, so all of them behave the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dialog import actions as act
from dialog import events as ev
from dialog.engine import Engine
from dialog.schema import Flow
from dialog.state import CallResult
from nlu.base import NO_MATCH, IntentClassifier, NluResult
from nlu.intent_space import candidates
from nlu.nbest import classify_nbest
from nlu.rules import RuleClassifier
from waihu.live_data import Fetcher, UnavailableFetcher, fetch_data


@dataclass
class TurnOutput:
    """What the robot did in response to one input: its actions and the NLU verdict."""

    actions: list[act.Action]
    nlu: NluResult | None = None
    node: str | None = None
    events: list[ev.Event] = field(default_factory=list)

    @property
    def said(self) -> list[str]:
        """Texts the robot spoke, in order."""
        return [action.text for action in self.actions if isinstance(action, act.Say)]

    @property
    def reply_text(self) -> str:
        """Everything the robot said, joined."""
        return " ".join(self.said)


class Conversation:
    """One call of a flow driven by text (or by ASR output)."""

    def __init__(
        self,
        flow: Flow,
        classifier: IntentClassifier | None = None,
        variables: Mapping[str, str] | None = None,
        *,
        auto_complete_transfer: bool = True,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.flow = flow
        #: Carries out the flow's live-data fetches (HTTP on calls, fixtures in flow tests).
        self.fetcher: Fetcher = fetcher or UnavailableFetcher()
        self.classifier = classifier or RuleClassifier.from_flow(flow)
        self.variables = dict(variables or {})
        self.engine = Engine(flow)
        # The text simulator has no seat: a transfer is taken as completed at once.
        self.auto_complete_transfer = auto_complete_transfer

    @property
    def node(self) -> str | None:
        """The node the engine is at."""
        return self.engine.state.node

    @property
    def finished(self) -> bool:
        """True once the call has ended."""
        return self.engine.finished

    def _fetches(self, actions: list[act.Action], events: list[ev.Event]) -> list[act.Action]:
        """Carry out each FetchData and append what the engine does with the answer."""
        done: list[act.Action] = []
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            done.append(action)
            if isinstance(action, act.FetchData):
                answer = fetch_data(self.fetcher, action)
                events.append(answer)
                pending = [*self.engine.handle(answer), *pending]
        return done

    def _run(self, event: ev.Event, nlu: NluResult | None = None) -> TurnOutput:
        events: list[ev.Event] = [event]
        actions = self._fetches(self.engine.handle(event), events)
        output = TurnOutput(actions, nlu, self.node, events)
        if self.auto_complete_transfer and any(isinstance(a, act.Transfer) for a in actions):
            output.actions += self.engine.handle(ev.TransferCompleted())
        return output

    def start(self) -> TurnOutput:
        """The callee answered: the robot greets."""
        events: list[ev.Event] = [ev.Answered()]
        actions = self._fetches(self.engine.start(self.variables), events)
        return TurnOutput(actions, None, self.node, events)

    def understand(self, text: str, alternatives: Sequence[tuple[str, float]] = ()) -> NluResult:
        """NLU for ``text`` at the current node.

        ``alternatives``: the recogniser's n-best ((text, log-prob) pairs, best first, as on
        ``asr.base.Transcript.alternatives``); the intent then combines ASR and NLU scores across
        them (:func:`nlu.nbest.classify_nbest`).
        """
        allowed = candidates(self.flow, self.node)
        if alternatives:
            remote = getattr(self.classifier, "classify_nbest", None)
            if callable(remote):  # a speech-service classifier: one request for the n-best
                return remote(text, alternatives, allowed)  # type: ignore[no-any-return]
            return classify_nbest(self.classifier, text, alternatives, allowed)
        return self.classifier.classify(text, allowed)

    def user_says(self, text: str, nlu: NluResult | None = None) -> TurnOutput:
        """The callee said ``text``; blank text is a no-input timeout.

        ``nlu``: the text's intent when already computed at this node (a speculative guess).
        """
        if not text.strip():
            return self.no_input()
        nlu = nlu or self.understand(text)
        guess = nlu.alternatives[0][0] if nlu.intent == NO_MATCH and nlu.alternatives else ""
        event = ev.UserUtterance(text.strip(), nlu.intent, nlu.confidence, nlu.entities, guess)
        return self._run(event, nlu)

    def no_input(self) -> TurnOutput:
        """The callee stayed silent."""
        return self._run(ev.NoInput())

    def dtmf(self, digit: str) -> TurnOutput:
        """The callee pressed a key; the intent is the node's DTMF mapping."""
        trace_length = len(self.engine.state.trace)
        output = self._run(ev.DtmfDigit(digit))
        if len(self.engine.state.trace) > trace_length:
            turn = self.engine.state.trace[trace_length]
            output.nlu = NluResult(turn.intent, turn.confidence, digit, "dtmf")
        return output

    def transfer_failed(self, reason: str = "no_answer") -> TurnOutput:
        """No seat took the transferred call."""
        return self._run(ev.TransferFailed(reason))

    def transfer_completed(self) -> TurnOutput:
        """A seat took the transferred call."""
        return self._run(ev.TransferCompleted())

    def hangup(self) -> TurnOutput:
        """The callee hung up."""
        return self._run(ev.CalleeHangup())

    def result(self) -> CallResult:
        """Graded result; only once finished."""
        return self.engine.result()
