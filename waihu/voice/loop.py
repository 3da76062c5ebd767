"""The voice conversation loop, stepped one 20 ms frame at a time.

``step(callee_frame) -> robot_frame`` is the whole interface to audio: the audio simulator calls it
with a scripted customer and a virtual clock; the SIP driver calls it with the frames RTP delivers
and sends back what it returns. Time is the number of frames stepped, so the same audio always
gives the same conversation.

Inside: the endpointer (Silero VAD) segments the callee's speech; a finished utterance goes through
ASR and the text :class:`~waihu.conversation.Conversation` (NLU + engine); the engine's actions are
rendered to audio and played frame by frame. Speech over a prompt stops it within a few frames when
the node allows barge-in; if it turns out to be a backchannel or noise, the prompt resumes where it
stopped.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from asr.base import UtteranceRecognizer
from asr.endpointing import Endpointer, NoInput, SpeechEnded, SpeechStarted
from dialog import actions as act
from dialog.events import BargeIn
from dialog.schema import FAQ_PREFIX, Flow
from nlu.intent_space import candidates
from nlu.normalize import normalize
from waihu.conversation import Conversation, TurnOutput
from waihu.voice.speech_output import SpeechOutput
from waihu.voice.turn_taking import is_false_interruption

log = logging.getLogger(__name__)

FRAME_S = 0.02
HINT_CHARS = 120  # measured: longer prompts recognised fewer intents (bench/speech_intent.py)


def vocabulary_hint(flow: Flow, node: str | None) -> str:
    """Key terms the callee may use at ``node``: the FAQs' and intents' short keywords.

    Given to Whisper as a prompt it biases recognition towards the flow's words (手续费, 征信…).
    Only short terms are used: whole example sentences in a prompt get copied into the transcript
    of short or unclear audio.
    """
    english = flow.flow.language == "en"
    terms: list[str] = []
    for intent in candidates(flow, node):
        if intent.startswith(FAQ_PREFIX):
            entry = flow.kb_entry(intent.removeprefix(FAQ_PREFIX))
            keywords = entry.keywords if entry else []
        else:
            keywords = flow.intents[intent].keywords
        longest = 12 if english else 4
        terms.extend(k for k in keywords[:3] if k.isascii() == english and 2 <= len(k) <= longest)
    separator = ", " if english else "，"
    return separator.join(dict.fromkeys(terms))[:HINT_CHARS]


def copied_from_hint(text: str, hint: str) -> bool:
    """True when a transcript looks copied from the prompt rather than heard."""
    words = normalize(text)
    return len(words) >= 4 and words in normalize(hint)


class CallControl(Protocol):
    """What the loop asks of the call besides audio."""

    def stop_audio(self) -> None:
        """Drop any robot audio already queued towards the callee (barge-in)."""

    def transfer(self, transfer: act.Transfer) -> None:
        """Hand the call to a human seat; report back with ``seat_answered`` / ``seat_failed``."""

    def hangup(self) -> None:
        """End the call (the robot hangs up)."""


class NullCallControl:
    """Call control for simulations: transfers succeed at once, the rest is recorded."""

    def __init__(self) -> None:
        self.transfers: list[act.Transfer] = []
        self.hung_up = False
        self.stops = 0
        self.loop: VoiceLoop | None = None

    def stop_audio(self) -> None:
        """Nothing is queued outside the loop in a simulation."""
        self.stops += 1

    def transfer(self, transfer: act.Transfer) -> None:
        """Record the transfer and let the seat answer."""
        self.transfers.append(transfer)
        if self.loop is not None:
            self.loop.seat_answered()

    def hangup(self) -> None:
        """Record the hang-up."""
        self.hung_up = True


@dataclass
class TurnTiming:
    """Latency of one robot reply: end of callee speech → first robot audio."""

    text: str
    speech_end_s: float
    endpoint_s: float
    reply_start_s: float
    compute_ms: float

    @property
    def latency_ms(self) -> float:
        """Virtual endpointing delay plus the wall-clock ASR + NLU + TTS time."""
        return (self.reply_start_s - self.speech_end_s) * 1000 + self.compute_ms


@dataclass
class LoopEvent:
    """Something worth showing in a transcript (barge-in, false interruption, no-input...)."""

    time_s: float
    kind: str
    detail: str = ""


@dataclass
class _Playback:
    pcm: bytes
    barge_in: bool
    text: str
    sample_rate: int
    position: int = 0

    @property
    def left_s(self) -> float:
        return (len(self.pcm) - self.position) / 2 / self.sample_rate


@dataclass
class _Interruption:
    started_s: float
    paused: list[_Playback]
    left_s: float


@dataclass
class VoiceLoopStats:
    """Counters a test or report can read."""

    utterances: int = 0
    barge_ins: int = 0
    false_interruptions: int = 0
    no_inputs: int = 0
    ignored_utterances: int = 0
    barge_in_reaction_s: list[float] = field(default_factory=list)


class VoiceLoop:
    """One call's audio conversation."""

    def __init__(
        self,
        conversation: Conversation,
        recognizer: UtteranceRecognizer,
        speech: SpeechOutput,
        endpointer: Endpointer,
        control: CallControl | None = None,
        *,
        on_transcript: Callable[[str, str], None] | None = None,
    ) -> None:
        self.conversation = conversation
        self.recognizer = recognizer
        self.speech = speech
        self.endpointer = endpointer
        self.control = control or NullCallControl()
        if isinstance(self.control, NullCallControl):
            self.control.loop = self
        self.on_transcript = on_transcript
        self.sample_rate = speech.sample_rate
        self.frame_bytes = int(self.sample_rate * FRAME_S) * 2
        self.frames = 0
        self.queue: deque[_Playback] = deque()
        self.listen: act.Listen | None = None
        self.pending_end: act.Hangup | act.Transfer | None = None
        self.interruption: _Interruption | None = None
        self.ignoring_speech = False
        self.timings: list[TurnTiming] = []
        self.events: list[LoopEvent] = []
        self.stats = VoiceLoopStats()
        self._awaiting_reply: tuple[str, float, float, float] | None = None
        self.finished = False
        self.robot_speaking_since: float | None = None
        self.responses = 0

    # ------------------------------------------------------------------ public API
    @property
    def time_s(self) -> float:
        """Seconds of call audio stepped so far."""
        return self.frames * FRAME_S

    @property
    def robot_speaking(self) -> bool:
        """True while robot audio is playing (not while paused by an interruption)."""
        return bool(self.queue) and self.interruption is None

    def start(self) -> None:
        """The callee answered: greet."""
        self._apply(self.conversation.start())

    def step(self, callee_frame: bytes) -> bytes:
        """Advance 20 ms: consume the callee's frame, return the robot's frame."""
        if self.finished:
            return bytes(self.frame_bytes)
        if len(callee_frame) != self.frame_bytes:
            callee_frame = callee_frame[: self.frame_bytes].ljust(self.frame_bytes, b"\0")
        self.frames += 1
        out = self._next_robot_frame()
        for event in self.endpointer.feed(callee_frame):
            if isinstance(event, SpeechStarted):
                self._on_speech_started(event)
            elif isinstance(event, SpeechEnded):
                self._on_speech_ended(event)
            elif isinstance(event, NoInput):
                self._on_no_input()
        return out

    def callee_hung_up(self) -> None:
        """The callee hung up: the engine grades the call."""
        if not self.conversation.finished:
            self.conversation.hangup()
        self.queue.clear()
        self.finished = True

    def dtmf(self, digit: str) -> None:
        """The callee pressed a key: it answers like an utterance would."""
        if self.conversation.finished:
            return
        self.endpointer.disarm_no_input()
        self.queue.clear()
        self.control.stop_audio()
        self.listen = None
        self.responses += 1
        if self.on_transcript:
            self.on_transcript("callee", f"(DTMF {digit})")
        self._apply(self.conversation.dtmf(digit))

    def seat_answered(self) -> None:
        """The human seat took the transferred call."""
        self.conversation.transfer_completed()
        self.finished = True

    def seat_failed(self) -> None:
        """No seat answered: the flow's fallback speaks again."""
        self.finished = False
        self.pending_end = None
        self._apply(self.conversation.transfer_failed())

    # ------------------------------------------------------------------ playback
    def _next_robot_frame(self) -> bytes:
        if not self.queue or self.interruption is not None:
            return bytes(self.frame_bytes)
        current = self.queue[0]
        if self.robot_speaking_since is None:
            self.robot_speaking_since = self.time_s - FRAME_S
            self._reply_started()
        chunk = current.pcm[current.position : current.position + self.frame_bytes]
        current.position += self.frame_bytes
        if current.position >= len(current.pcm):
            self.queue.popleft()
            if not self.queue:
                self._speech_drained()
        return chunk.ljust(self.frame_bytes, b"\0")

    def _reply_started(self) -> None:
        if self._awaiting_reply is None:
            return
        text, end_s, endpoint_s, compute_ms = self._awaiting_reply
        self._awaiting_reply = None
        self.timings.append(TurnTiming(text, end_s, endpoint_s, self.time_s - FRAME_S, compute_ms))

    def _speech_drained(self) -> None:
        """All queued robot speech has played: listen, or carry out the pending end."""
        self.robot_speaking_since = None
        if isinstance(self.pending_end, act.Hangup):
            self.control.hangup()
            self.finished = True
        elif isinstance(self.pending_end, act.Transfer):
            transfer, self.pending_end = self.pending_end, None
            self.control.transfer(transfer)
        elif self.listen is not None:
            self.endpointer.arm_no_input(self.listen.timeout_s)

    # ------------------------------------------------------------------ engine actions
    def _apply(self, output: TurnOutput) -> None:
        for action in output.actions:
            if isinstance(action, act.Say):
                audio = self.speech.render(action)
                self.queue.append(_Playback(audio.pcm, action.barge_in, action.text, audio.sample_rate))
            elif isinstance(action, act.Listen):
                self.listen = action
                # Endpointing per node: a yes/no question may end sooner than an open one.
                self.endpointer.config = replace(self.endpointer.config, end_silence_s=action.end_silence_s)
            elif isinstance(action, act.StopSpeaking):
                pass  # the loop stops audio itself, at speech onset
            elif isinstance(action, act.Hangup | act.Transfer):
                self.listen = None
                self.pending_end = action
        if not self.queue:
            self._speech_drained()
        if output.said and self.on_transcript:
            self.on_transcript("robot", " ".join(output.said))

    # ------------------------------------------------------------------ callee speech
    def _on_speech_started(self, event: SpeechStarted) -> None:
        self.endpointer.disarm_no_input()
        if not self.robot_speaking:
            return
        if not self.queue[0].barge_in:
            # The node forbids interruption (e.g. a legal disclosure): finish the prompt, drop this speech.
            self.ignoring_speech = True
            self.events.append(LoopEvent(self.time_s, "speech_ignored", "prompt not interruptible"))
            return
        if not self.conversation.engine.handle(BargeIn()):
            self.ignoring_speech = True
            return
        left = sum(item.left_s for item in self.queue)
        self.interruption = _Interruption(event.time_s, list(self.queue), left)
        self.control.stop_audio()
        reaction = self.time_s - event.time_s
        self.stats.barge_ins += 1
        self.stats.barge_in_reaction_s.append(reaction)
        self.events.append(
            LoopEvent(self.time_s, "barge_in", f"prompt stopped {reaction * 1000:.0f} ms after onset")
        )

    def _on_speech_ended(self, event: SpeechEnded) -> None:
        if self.ignoring_speech:
            self.ignoring_speech = False
            self.stats.ignored_utterances += 1
            if not self.queue and self.listen is not None:
                self.endpointer.arm_no_input(self.listen.timeout_s)
            return
        started = time.perf_counter()
        hint = vocabulary_hint(self.conversation.flow, self.conversation.node)
        transcript = self.recognizer.transcribe(event.pcm, event.sample_rate, initial_prompt=hint)
        if copied_from_hint(transcript.text, hint):
            transcript = self.recognizer.transcribe(event.pcm, event.sample_rate)
        text = transcript.text.strip()
        interruption, self.interruption = self.interruption, None
        if interruption is not None and is_false_interruption(text, event.duration_s, interruption.left_s):
            self.stats.false_interruptions += 1
            self.events.append(LoopEvent(self.time_s, "false_interruption", text or "(noise)"))
            return  # the paused prompt simply continues from where it stopped
        if interruption is not None:
            self.queue.clear()  # a real answer: the rest of the prompt is dropped
            self.robot_speaking_since = None
        if not text:
            # Noise while the robot listened: keep listening with the timer running again.
            self.events.append(LoopEvent(self.time_s, "noise"))
            if self.listen is not None and not self.queue:
                self.endpointer.arm_no_input(self.listen.timeout_s)
            return
        self.stats.utterances += 1
        if self.on_transcript:
            self.on_transcript("callee", text)
        self.listen = None
        output = self.conversation.user_says(text)
        self.responses += 1
        compute_ms = (time.perf_counter() - started) * 1000
        self._awaiting_reply = (text, event.end_s, event.detected_s, compute_ms)
        self._apply(output)

    def _on_no_input(self) -> None:
        if self.listen is None or self.queue:
            return
        self.stats.no_inputs += 1
        self.events.append(LoopEvent(self.time_s, "no_input"))
        self.listen = None
        self.responses += 1
        self._apply(self.conversation.no_input())
