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

import concurrent.futures
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from asr.base import Transcript, UtteranceRecognizer
from asr.endpointing import (
    Endpointer,
    ListenTimeout,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)
from dialog import actions as act
from dialog.events import BargeIn
from dialog.schema import FAQ_PREFIX, Flow
from nlu.base import NluResult
from nlu.intent_space import candidates
from nlu.normalize import is_cjk, normalize
from tts.base import Audio
from waihu.conversation import Conversation, TurnOutput
from waihu.voice.speech_output import SpeechOutput, Streamed
from waihu.voice.turn_taking import is_false_interruption

log = logging.getLogger(__name__)
T = TypeVar("T")

FRAME_S = 0.02
HINT_CHARS = 120  # measured: longer prompts recognised fewer intents (bench/speech_intent.py)


def vocabulary_hint(flow: Flow, node: str | None) -> str:
    """Key terms the callee may use at ``node``, given to Whisper as a prompt.

    It biases recognition towards the flow's words (手续费, 征信…). Only short terms are used: whole
    example sentences in a prompt get copied into the transcript of short or unclear audio.
    Mandarin: one term per candidate intent, its first keyword of 2-4 characters, so every
    knowledge-base entry is named and the prompt stays short (measured in bench/speech_intent.py:
    with n-best it recognised more intents than three terms per intent cut at 120 characters, which
    left 征信 and 提前还 out). English: up to three keywords per intent.
    """
    english = flow.flow.language == "en"
    terms: list[str] = []
    for intent in candidates(flow, node):
        keywords = intent_keywords(flow, intent)
        if english:
            terms.extend(k for k in keywords[:3] if k.isascii() and 2 <= len(k) <= 12)
        else:
            terms.extend([k for k in keywords if 2 <= len(k) <= 4 and all(is_cjk(ch) for ch in k)][:1])
    separator = ", " if english else "，"
    return separator.join(dict.fromkeys(terms))[:HINT_CHARS]


def intent_keywords(flow: Flow, intent: str) -> list[str]:
    """The keywords of an intent or of a knowledge-base entry (``faq:<id>``)."""
    if intent.startswith(FAQ_PREFIX):
        entry = flow.kb_entry(intent.removeprefix(FAQ_PREFIX))
        return list(entry.keywords) if entry else []
    return list(flow.intents[intent].keywords)


def copied_from_hint(text: str, hint: str) -> bool:
    """True when a transcript looks copied from the prompt rather than heard.

    Long transcripts found verbatim in the hint were copied; so were very short ones (1-2 characters):
    the hint pulls a lone syllable towards its own words (好 heard as 号, from 号码 in the hint).
    """
    words = normalize(text).replace(" ", "")
    return bool(words) and (len(words) >= 4 or len(words) <= 2) and words in normalize(hint).replace(" ", "")


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


class SpeechRunner(Protocol):
    """Where an utterance is understood (ASR + NLU + engine + rendering of the reply)."""

    #: True when the work runs while the clock stands still (simulations): its compute time is then
    #: added to the reply latency; False when frames keep being stepped meanwhile (live calls).
    clock_stops: bool

    def submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Start ``job``; its future is polled by :meth:`VoiceLoop.step`."""
        ...


class InlineRunner:
    """Runs the job at once (the audio simulator: deterministic, on a virtual clock)."""

    clock_stops = True

    def submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``job`` now; a completed future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(job())
        except Exception as exc:  # reported when the loop reads the result
            future.set_exception(exc)
        return future


class ThreadRunner:
    """Runs jobs on a thread pool, off the 20 ms media path (live calls).

    While a decode runs, the loop keeps stepping frames: RTP in and out, VAD and barge-in go on.
    """

    clock_stops = False

    def __init__(self, executor: concurrent.futures.Executor) -> None:
        self.executor = executor

    def submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Queue ``job`` on the pool."""
        return self.executor.submit(job)


@dataclass
class Understood:
    """What became of one utterance, computed off the media path."""

    text: str
    compute_ms: float
    false_interruption: bool = False
    output: TurnOutput | None = None
    audio: list[Streamed] = field(default_factory=list)


@dataclass
class Guess:
    """A speculative recognition of the words so far, started at the first pause."""

    transcript: Transcript
    nlu: NluResult | None
    compute_ms: float
    #: Loop time of the pause that started it.
    at_s: float = 0.0


@dataclass
class _Speculation:
    pcm: bytes
    node: str | None
    future: concurrent.futures.Future[Guess]


#: Adaptive endpointing: at a node, a confident guess that is a cell of the node's own answer table
#: ends the turn after this much silence instead of the node's full end silence.
EARLY_END_SILENCE_S = 0.3
EARLY_END_CONFIDENCE = 0.75
EARLY_END_MAX_CHARS = 8  # short closed answers only (好的 / 不用了 / yes please): longer ones may go on


@dataclass
class _Pending:
    event: SpeechEnded
    future: concurrent.futures.Future[Understood]


@dataclass
class TurnTiming:
    """Latency of one robot reply: end of callee speech → first robot audio."""

    text: str
    speech_end_s: float
    endpoint_s: float
    reply_start_s: float
    compute_ms: float

    #: The compute ran while the clock stood still (simulation): add it to the latency.
    compute_outside_clock: bool = True

    @property
    def latency_ms(self) -> float:
        """End of speech → first robot audio on the loop's clock (+ compute when the clock stood still)."""
        extra = self.compute_ms if self.compute_outside_clock else 0.0
        return (self.reply_start_s - self.speech_end_s) * 1000 + extra


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
    #: The prompt's later clauses, still being synthesised while the first plays (streaming).
    rest: concurrent.futures.Future[Audio] | None = None

    def extend(self) -> None:
        """Append the later clauses once they are ready (a failed synthesis ends the prompt early)."""
        rest = self.rest
        if rest is None or not rest.done():
            return
        self.rest = None
        try:
            more = rest.result()
        except Exception:
            log.exception("synthesising the rest of %r failed", self.text[:40])
            return
        self.position = min(self.position, len(self.pcm))  # the padding of the last frame was silence
        self.pcm += more.pcm

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
    speculations: int = 0
    speculations_used: int = 0
    speculations_discarded: int = 0
    early_ends: int = 0
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
        runner: SpeechRunner | None = None,
    ) -> None:
        self.conversation = conversation
        self.runner: SpeechRunner = runner or InlineRunner()
        self._pending: _Pending | None = None
        self._speculation: _Speculation | None = None
        #: Adaptive endpointing on closed answers (see EARLY_END_SILENCE_S).
        self.adaptive_endpointing = True
        self._deferred_dtmf: list[str] = []
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
        if self._pending is not None and self._pending.future.done():
            self._finish_pending()
        out = self._next_robot_frame()
        for event in self.endpointer.feed(callee_frame):
            if isinstance(event, SpeechStarted):
                self._on_speech_started(event)
            elif isinstance(event, SpeechPaused):
                self._on_speech_paused(event)
            elif isinstance(event, SpeechResumed):
                self._discard_speculation()
            elif isinstance(event, SpeechEnded):
                self._on_speech_ended(event)
            elif isinstance(event, ListenTimeout):
                self._on_no_input()
        if self._speculation is not None and self._speculation.future.done():
            self._maybe_end_early()
        return out

    @property
    def understanding(self) -> bool:
        """True while an utterance is being recognised off the media path."""
        return self._pending is not None

    def callee_hung_up(self) -> None:
        """The callee hung up: the engine grades the call."""
        if self._pending is not None:  # the engine may be busy with the last words: let it finish
            concurrent.futures.wait([self._pending.future])
            self._pending = None
        if not self.conversation.finished:
            self.conversation.hangup()
        self.queue.clear()
        self.finished = True

    def dtmf(self, digit: str) -> None:
        """The callee pressed a key: it answers like an utterance would."""
        if self.conversation.finished:
            return
        if self._pending is not None:  # the engine is busy with an utterance: the key comes next
            self._deferred_dtmf.append(digit)
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
        current.extend()
        if current.position >= len(current.pcm) and current.rest is not None:
            return bytes(self.frame_bytes)  # the next clause is still being synthesised
        chunk = current.pcm[current.position : current.position + self.frame_bytes]
        current.position += self.frame_bytes
        if current.position >= len(current.pcm) and current.rest is None:
            self.queue.popleft()
            if not self.queue:
                self._speech_drained()
        return chunk.ljust(self.frame_bytes, b"\0")

    def _reply_started(self) -> None:
        if self._awaiting_reply is None:
            return
        text, end_s, endpoint_s, compute_ms = self._awaiting_reply
        self._awaiting_reply = None
        self.timings.append(
            TurnTiming(text, end_s, endpoint_s, self.time_s - FRAME_S, compute_ms, self.runner.clock_stops)
        )

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
    def _apply(self, output: TurnOutput, rendered: list[Streamed] | None = None) -> None:
        says = iter(rendered or [])
        for action in output.actions:
            if isinstance(action, act.Say):
                streamed = next(says, None) or self.speech.render_streamed(action, self.runner.submit)
                first = streamed.first
                playback = _Playback(first.pcm, action.barge_in, action.text, first.sample_rate)
                playback.rest = streamed.rest
                self.queue.append(playback)
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
        if not self.robot_speaking or self._pending is not None:
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
        if self._pending is not None:  # still understanding the previous words: finish them first
            concurrent.futures.wait([self._pending.future])
            self._finish_pending()
        hint = vocabulary_hint(self.conversation.flow, self.conversation.node)
        left_s = self.interruption.left_s if self.interruption is not None else None
        guess = self._take_speculation(event)
        future = self.runner.submit(lambda: self._understand(event, hint, left_s, guess))
        self._pending = _Pending(event, future)
        if future.done():
            self._finish_pending()

    def _understand(
        self,
        event: SpeechEnded,
        hint: str,
        interrupted_left_s: float | None,
        guess: concurrent.futures.Future[Guess] | None = None,
    ) -> Understood:
        """ASR, NLU, engine and the reply's audio: the slow part, run by the loop's runner.

        Only this job touches the conversation while it runs (the step thread defers DTMF and
        ignores barge-in meanwhile), so it may run on another thread.
        """
        started = time.perf_counter()
        nlu: NluResult | None = None
        # Simulated time: the guess's compute overlapped the endpoint silence; only what it took
        # beyond that silence delays the reply.
        overrun_ms = 0.0
        if guess is not None:  # the same audio was already decoded during the endpoint silence
            try:
                guessed = guess.result()
                transcript, nlu = guessed.transcript, guessed.nlu
                overlap_ms = (event.detected_s - guessed.at_s) * 1000
                overrun_ms = max(0.0, guessed.compute_ms - overlap_ms)
            except Exception:  # a failed guess: decode now
                log.exception("speculative decode failed")
                transcript = self._transcribe(event.pcm, event.sample_rate, hint)
        else:
            transcript = self._transcribe(event.pcm, event.sample_rate, hint)
        text = transcript.text.strip()
        if interrupted_left_s is not None and is_false_interruption(
            text, event.duration_s, interrupted_left_s
        ):
            return Understood(text, _ms_since(started) + overrun_ms, false_interruption=True)
        if not text:
            return Understood(text, _ms_since(started) + overrun_ms)
        if nlu is None:
            nlu = self.conversation.understand(text, transcript.alternatives)
        output = self.conversation.user_says(text, nlu)
        submit = self.runner.submit  # later clauses synthesise while the first one plays
        audio = [self.speech.render_streamed(a, submit) for a in output.actions if isinstance(a, act.Say)]
        return Understood(text, _ms_since(started) + overrun_ms, output=output, audio=audio)

    def _transcribe(self, pcm: bytes, sample_rate: int, hint: str) -> Transcript:
        transcript = self.recognizer.transcribe(pcm, sample_rate, initial_prompt=hint)
        if copied_from_hint(transcript.text, hint):
            transcript = self.recognizer.transcribe(pcm, sample_rate)
        return transcript

    # ------------------------------------------------------------------ speculative recognition
    def _on_speech_paused(self, event: SpeechPaused) -> None:
        """The callee paused: start decoding now, so the decode overlaps the endpoint silence."""
        if self.ignoring_speech or self._pending is not None or self.conversation.finished:
            return
        self._discard_speculation()
        hint = vocabulary_hint(self.conversation.flow, self.conversation.node)
        node = self.conversation.node
        at_s = event.time_s

        def guess() -> Guess:
            started = time.perf_counter()
            transcript = self._transcribe(event.pcm, event.sample_rate, hint)
            text = transcript.text.strip()
            nlu = self.conversation.understand(text, transcript.alternatives) if text else None
            return Guess(transcript, nlu, _ms_since(started), at_s)

        self.stats.speculations += 1
        self._speculation = _Speculation(event.pcm, node, self.runner.submit(guess))

    def _discard_speculation(self) -> None:
        """The callee went on speaking: the guess is about other audio."""
        if self._speculation is not None:
            self._speculation = None
            self.stats.speculations_discarded += 1

    def _take_speculation(self, event: SpeechEnded) -> concurrent.futures.Future[Guess] | None:
        spec, self._speculation = self._speculation, None
        if spec is None:
            return None
        if spec.pcm != event.pcm or spec.node != self.conversation.node:
            self.stats.speculations_discarded += 1
            return None
        self.stats.speculations_used += 1
        return spec.future

    def _maybe_end_early(self) -> None:
        """Adaptive endpointing: a confident closed answer ends the turn after a short silence."""
        spec = self._speculation
        if (
            spec is None
            or not self.adaptive_endpointing
            or self.endpointer.silence_s < EARLY_END_SILENCE_S
            or self.interruption is not None
        ):
            return
        try:
            guessed = spec.future.result()
        except Exception:
            return
        nlu = guessed.nlu
        node = self.conversation.flow.nodes.get(spec.node or "")
        text = guessed.transcript.text.strip()
        if (
            nlu is None
            or node is None
            or node.end_silence is not None  # the operator set this node's endpoint: it wins
            or nlu.intent not in node.answers
            or nlu.confidence < EARLY_END_CONFIDENCE
            or len(text) > EARLY_END_MAX_CHARS * (3 if text.isascii() else 1)
        ):
            return
        ended = self.endpointer.end_now()
        if ended is not None:
            self.stats.early_ends += 1
            self.events.append(LoopEvent(self.time_s, "early_end", f"{nlu.intent} {nlu.confidence:.2f}"))
            self._on_speech_ended(ended)

    def _finish_pending(self) -> None:
        """Apply an understood utterance on the step thread."""
        pending, self._pending = self._pending, None
        assert pending is not None
        event = pending.event
        try:
            understood = pending.future.result()
        except Exception:  # a failed decode must not end the call: treat it as noise
            log.exception("understanding an utterance failed")
            understood = Understood("", 0.0)
        text = understood.text
        interruption, self.interruption = self.interruption, None
        if understood.false_interruption:
            self.stats.false_interruptions += 1
            self.events.append(LoopEvent(self.time_s, "false_interruption", text or "(noise)"))
            self._replay_deferred_dtmf()
            return  # the paused prompt simply continues from where it stopped
        if interruption is not None:
            self.queue.clear()  # a real answer: the rest of the prompt is dropped
            self.robot_speaking_since = None
        if understood.output is None:
            # Noise while the robot listened: keep listening with the timer running again.
            self.events.append(LoopEvent(self.time_s, "noise"))
            if self.listen is not None and not self.queue:
                self.endpointer.arm_no_input(self.listen.timeout_s)
            self._replay_deferred_dtmf()
            return
        self.stats.utterances += 1
        if self.on_transcript:
            self.on_transcript("callee", text)
        self.listen = None
        self.responses += 1
        self._awaiting_reply = (text, event.end_s, event.detected_s, understood.compute_ms)
        self._apply(understood.output, understood.audio)
        self._replay_deferred_dtmf()

    def _replay_deferred_dtmf(self) -> None:
        digits, self._deferred_dtmf = self._deferred_dtmf, []
        for digit in digits:
            self.dtmf(digit)

    def _on_no_input(self) -> None:
        if self.listen is None or self.queue or self._pending is not None:
            return
        self.stats.no_inputs += 1
        self.events.append(LoopEvent(self.time_s, "no_input"))
        self.listen = None
        self.responses += 1
        self._apply(self.conversation.no_input())


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
