"""Deterministic utterance endpointing driven by VAD probabilities.

Time is the number of samples fed (never the wall clock), so the same audio always gives the same
events at the same times. Feed 16-bit mono PCM of any size with :meth:`Endpointer.feed`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from asr.pcm import BYTES_PER_SAMPLE, check_rate
from asr.vad import VadFrame


@dataclass(frozen=True)
class SpeechStarted:
    """Speech confirmed (after ``min_speech_s``); ``time_s`` is when the speech began."""

    time_s: float
    detected_s: float


@dataclass(frozen=True)
class SpeechEnded:
    """End of an utterance.

    ``reason`` is ``"silence"`` (trailing silence reached), ``"max_length"`` or ``"flush"``.
    ``pcm`` holds the utterance audio including ``pre_roll_s`` before ``start_s`` and up to
    ``post_roll_s`` after ``end_s``; ``detected_s`` is the stream time at which the end was decided.
    """

    start_s: float
    end_s: float
    detected_s: float
    reason: str
    pcm: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        """Speech duration (``end_s - start_s``)."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ListenTimeout:
    """No speech started within ``timeout_s`` after :meth:`Endpointer.arm_no_input` (the dialog
    engine turns it into its own ``dialog.events.NoInput``)."""

    time_s: float
    timeout_s: float


@dataclass(frozen=True)
class SpeechPaused:
    """The callee went quiet long enough to guess the utterance (``post_roll_s`` of silence).

    ``pcm`` is exactly what :class:`SpeechEnded` will carry if the silence lasts until the endpoint,
    so a decode started now (speculatively) can be reused then.
    """

    time_s: float
    pcm: bytes
    sample_rate: int


@dataclass(frozen=True)
class SpeechResumed:
    """Speech came back after a :class:`SpeechPaused`: a speculative result is stale."""

    time_s: float


Event = SpeechStarted | SpeechEnded | ListenTimeout | SpeechPaused | SpeechResumed


class FrameVad(Protocol):
    """What the endpointer needs from a VAD (implemented by :class:`asr.vad.SileroVad`)."""

    sample_rate: int

    def feed(self, pcm: bytes) -> list[VadFrame]:
        """Feed PCM and return probabilities of the completed chunks."""
        ...

    def reset(self) -> None:
        """Reset the VAD state and its time origin."""
        ...


@dataclass(frozen=True)
class EndpointerConfig:
    """Endpointing thresholds (seconds of audio)."""

    threshold: float = 0.5
    """Probability at or above which a chunk counts as speech."""
    neg_threshold: float = 0.35
    """Probability below which a chunk counts as silence (hysteresis between the two)."""
    min_speech_s: float = 0.1
    """Speech must last this long before SpeechStarted (filters clicks)."""
    end_silence_s: float = 0.6
    """Trailing silence that ends an utterance."""
    max_utterance_s: float = 15.0
    """An utterance is cut after this long."""
    pre_roll_s: float = 0.2
    """Audio kept before the detected speech start."""
    post_roll_s: float = 0.2
    """Trailing audio kept after the detected speech end."""
    pause_events: bool = True
    """Emit SpeechPaused / SpeechResumed (for speculative recognition)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.neg_threshold <= self.threshold <= 1.0:
            raise ValueError("need 0 <= neg_threshold <= threshold <= 1")
        for name in ("min_speech_s", "end_silence_s", "max_utterance_s", "pre_roll_s", "post_roll_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


class _State(Enum):
    SILENCE = "silence"
    PENDING = "pending"
    SPEECH = "speech"


class Endpointer:
    """Turns a PCM stream into SpeechStarted / SpeechEnded / ListenTimeout events.

    Decisions are made per VAD chunk (32 ms with Silero), so event times are quantised to chunks.
    """

    def __init__(
        self,
        config: EndpointerConfig | None = None,
        sample_rate: int = 8000,
        vad: FrameVad | None = None,
    ) -> None:
        self.config = config or EndpointerConfig()
        self.sample_rate = check_rate(sample_rate)
        if vad is None:
            from asr.vad import SileroVad

            vad = SileroVad(sample_rate)
        if vad.sample_rate != sample_rate:
            raise ValueError("VAD sample rate differs from the endpointer's")
        self._vad = vad
        self.reset()

    # -- public API -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything, including the time origin and a pending no-input timer."""
        self._vad.reset()
        self._state = _State.SILENCE
        self._fed_samples = 0
        self._processed_samples = 0
        self._speech_start = 0
        self._speech_run = 0
        self._silence_start: int | None = None
        self._paused = False
        self._no_input_deadline: int | None = None
        self._no_input_timeout = 0.0
        pre = int(self.config.pre_roll_s * self.sample_rate) * BYTES_PER_SAMPLE
        # (start_sample, bytes) of recent audio kept for the pre-roll while not in speech
        self._history: deque[tuple[int, bytes]] = deque()
        self._history_limit = pre

    @property
    def time_s(self) -> float:
        """Seconds of audio fed since the last reset."""
        return self._fed_samples / self.sample_rate

    @property
    def in_speech(self) -> bool:
        """True between SpeechStarted and SpeechEnded."""
        return self._state is _State.SPEECH

    def arm_no_input(self, timeout_s: float) -> None:
        """Emit ListenTimeout if no speech starts within ``timeout_s`` of audio from now."""
        if timeout_s < 0:
            raise ValueError("timeout_s must be >= 0")
        self._no_input_timeout = timeout_s
        self._no_input_deadline = self._fed_samples + round(timeout_s * self.sample_rate)

    def disarm_no_input(self) -> None:
        """Cancel a pending no-input timer."""
        self._no_input_deadline = None

    def feed(self, pcm: bytes) -> list[Event]:
        """Feed 16-bit mono PCM of any length; return the events it caused, in time order."""
        if len(pcm) % BYTES_PER_SAMPLE:
            raise ValueError("16-bit PCM must have an even number of bytes")
        self._remember(self._fed_samples, pcm)
        self._fed_samples += len(pcm) // BYTES_PER_SAMPLE
        events: list[Event] = []
        for frame in self._vad.feed(pcm):
            self._on_frame(frame, events)
        return events

    @property
    def silence_s(self) -> float:
        """Seconds of trailing silence in the current utterance (0 when not in one)."""
        if self._state is not _State.SPEECH or self._silence_start is None:
            return 0.0
        return self._seconds(self._processed_samples - self._silence_start)

    def end_now(self) -> SpeechEnded | None:
        """End the current utterance at its trailing silence (adaptive endpointing).

        Returns None unless in speech with silence already running. The audio is the same as a
        SpeechEnded by ``end_silence_s`` would carry (up to ``post_roll_s`` after the speech).
        """
        if self._state is not _State.SPEECH or self._silence_start is None:
            return None
        return self._end(self._silence_start, self._processed_samples, "early")

    def flush(self) -> list[Event]:
        """End the current utterance now (e.g. the caller hung up); no-op when not in speech."""
        if self._state is not _State.SPEECH:
            self._state = _State.SILENCE
            return []
        end = self._silence_start if self._silence_start is not None else self._processed_samples
        return [self._end(end, self._processed_samples, "flush")]

    # -- internals --------------------------------------------------------------------------------

    def _remember(self, start_sample: int, pcm: bytes) -> None:
        self._history.append((start_sample, pcm))
        if self._state is _State.SILENCE:
            self._trim_history()

    def _trim_history(self) -> None:
        """Keep only the pre-roll (plus one block) behind the processed position."""
        keep_from = self._processed_samples - self._history_limit // BYTES_PER_SAMPLE
        while len(self._history) > 1:
            start, block = self._history[0]
            if start + len(block) // BYTES_PER_SAMPLE > keep_from:
                break
            self._history.popleft()

    def _audio(self, start: int, end: int) -> bytes:
        """Audio between two sample positions from the kept history (clipped to what is kept)."""
        out = bytearray()
        for block_start, block in self._history:
            block_end = block_start + len(block) // BYTES_PER_SAMPLE
            lo, hi = max(start, block_start), min(end, block_end)
            if lo < hi:
                out += block[(lo - block_start) * BYTES_PER_SAMPLE : (hi - block_start) * BYTES_PER_SAMPLE]
        return bytes(out)

    def _seconds(self, samples: int) -> float:
        return samples / self.sample_rate

    def _on_frame(self, frame: VadFrame, events: list[Event]) -> None:
        cfg = self.config
        rate = self.sample_rate
        self._processed_samples = frame.end_sample
        p = frame.probability
        if self._state is _State.SILENCE:
            if p >= cfg.threshold:
                self._state = _State.PENDING
                self._speech_start = frame.start_sample
                self._speech_run = 0
            else:
                self._trim_history()
        if self._state is _State.PENDING:
            if p < cfg.neg_threshold:
                self._state = _State.SILENCE
                self._trim_history()
            else:
                self._speech_run += frame.end_sample - frame.start_sample
                if self._speech_run >= round(cfg.min_speech_s * rate):
                    self._state = _State.SPEECH
                    self._silence_start = None
                    self._no_input_deadline = None
                    events.append(SpeechStarted(self._seconds(self._speech_start), frame.end_s))
                    return
        if self._state is _State.SPEECH:
            if p >= cfg.threshold:
                self._silence_start = None
                if self._paused:
                    self._paused = False
                    events.append(SpeechResumed(frame.start_s))
            elif p < cfg.neg_threshold and self._silence_start is None:
                self._silence_start = frame.start_sample
            post = round(cfg.post_roll_s * rate)
            if (
                cfg.pause_events
                and not self._paused
                and self._silence_start is not None
                and frame.end_sample - self._silence_start >= post
                and frame.end_sample - self._silence_start < round(cfg.end_silence_s * rate)
            ):
                self._paused = True
                start = max(0, self._speech_start - round(cfg.pre_roll_s * rate))
                pcm = self._audio(start, min(frame.end_sample, self._silence_start + post))
                events.append(SpeechPaused(frame.end_s, pcm, rate))
            if self._silence_start is not None and frame.end_sample - self._silence_start >= round(
                cfg.end_silence_s * rate
            ):
                events.append(self._end(self._silence_start, frame.end_sample, "silence"))
            elif frame.end_sample - self._speech_start >= round(cfg.max_utterance_s * rate):
                events.append(self._end(frame.end_sample, frame.end_sample, "max_length"))
            return
        # Not in speech and no speech candidate: check the no-input timer.
        if (
            self._state is _State.SILENCE
            and self._no_input_deadline is not None
            and frame.end_sample >= self._no_input_deadline
        ):
            self._no_input_deadline = None
            events.append(ListenTimeout(frame.end_s, self._no_input_timeout))

    def _end(self, end_sample: int, detected_sample: int, reason: str) -> SpeechEnded:
        rate = self.sample_rate
        pre = round(self.config.pre_roll_s * rate)
        post = round(self.config.post_roll_s * rate)
        audio_start = max(0, self._speech_start - pre)
        audio_end = min(detected_sample, end_sample + post)
        pcm = self._audio(audio_start, audio_end)
        event = SpeechEnded(
            start_s=self._seconds(self._speech_start),
            end_s=self._seconds(end_sample),
            detected_s=self._seconds(detected_sample),
            reason=reason,
            pcm=pcm,
            sample_rate=rate,
        )
        self._state = _State.SILENCE
        self._silence_start = None
        self._paused = False
        self._trim_history()
        return event
