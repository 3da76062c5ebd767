"""Answering-machine detection: in the first seconds after the answer, a person or a machine?

A person picks up with a short "喂？你好" and waits; a voicemail greeting talks on ("您好，我现在不方便
接听，请在提示音后留言") and often ends in a beep. :class:`AnsweringMachineDetector` is fed the callee's
frames after 200 OK and decides from, in this order of certainty:

1. a beep (one pure tone of 0.15–1.6 s): ``machine``;
2. a voicemail keyword (留言, 语音信箱, "leave a message" …) in what was said: ``machine``;
3. the greeting's length and continuity: a short greeting followed by silence is ``human``; speech
   running past ``max_human_greeting_s`` is ``machine``;
4. nothing said for ``silence_human_s``: ``human`` (a person waiting for the robot to speak).

By ``decide_by_s`` it always decides. Synchronous and deterministic for a given audio stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from waihu.cpa.announcements import BYTES_PER_S, SAMPLE_RATE, FrameVad, Recognizer
from waihu.cpa.phrases import voicemail_phrase
from waihu.cpa.tones import ToneTracker

HUMAN = "human"
MACHINE = "machine"


@dataclass(frozen=True)
class AmdDecision:
    """``kind`` human/machine; ``reason`` beep, keyword, long_greeting, short_greeting, silence, timeout;
    ``at_s``: seconds after the answer; ``text``: what was recognised; ``beep_at_s``: end of the beep."""

    kind: str
    reason: str
    at_s: float
    text: str = ""
    beep_at_s: float | None = None
    asr_s: float = 0.0


@dataclass(frozen=True)
class AmdConfig:
    """Thresholds in seconds (tuned on the project's synthetic greetings, see bench/amd.py)."""

    speech_threshold: float = 0.5
    #: Speech running longer than this without a pause is a recorded greeting.
    max_human_greeting_s: float = 2.2
    #: A greeting counts as finished after this much silence (a person says "喂？" and waits; a
    #: machine's clause pauses are shorter: 0.5 s cut "你好，我是小王，…" into a "human" greeting).
    pause_s: float = 0.9
    #: No speech at all for this long: a person waiting (the robot talks).
    silence_human_s: float = 2.5
    #: Always decided by then.
    decide_by_s: float = 3.5
    #: Transcribe a growing greeting once it is this long (keywords come early: "请留言").
    first_try_s: float = 1.2
    #: A beep: one pure tone this long (a sustained vowel, "哎…", is harmonic: not pure).
    beep_s: tuple[float, float] = (0.2, 1.6)


class AnsweringMachineDetector:
    """The callee's audio after the answer → :class:`AmdDecision`."""

    def __init__(
        self, recognizer: Recognizer | None, vad: FrameVad | None = None, config: AmdConfig | None = None
    ) -> None:
        if vad is None:
            from asr.vad import SileroVad

            vad = SileroVad(SAMPLE_RATE)
        self.recognizer = recognizer
        self.vad = vad
        self.config = config or AmdConfig()
        self.tones = ToneTracker()
        self.decision: AmdDecision | None = None
        self.transcripts: list[str] = []
        self.asr_s = 0.0
        self.speech_s = 0.0  # speech in the current greeting segment
        self._segment = bytearray()
        self._in_speech = False
        self._silence_s = 0.0
        self._heard_speech = False
        self._last_speech = False
        self._tried = 0

    @property
    def time_s(self) -> float:
        """Seconds of audio fed since the answer."""
        return self.tones.time_s

    def feed(self, frame: bytes) -> AmdDecision | None:
        """One 20 ms frame; the decision once there is one."""
        if self.decision is not None:
            return self.decision
        cfg = self.config
        burst = self.tones.feed(frame)
        if burst is not None and cfg.beep_s[0] <= burst.length_s <= cfg.beep_s[1] and burst.purity >= 0.8:
            return self._decide(MACHINE, "beep", beep_at_s=burst.end_s)
        speech = self._speech(frame)
        step = len(frame) / BYTES_PER_S
        if speech:
            self._segment += frame
            self._in_speech = self._heard_speech = True
            self._silence_s = 0.0
            self.speech_s += step
        elif self._in_speech:
            self._segment += frame
            self._silence_s += step
        if self._in_speech and self._silence_s >= cfg.pause_s:
            # The greeting paused: short and then quiet is a person (unless it asked for a message).
            if self._keyword():
                return self._decide(MACHINE, "keyword", self.transcripts[-1])
            if self.speech_s <= cfg.max_human_greeting_s:
                return self._decide(HUMAN, "short_greeting", self.transcripts[-1] if self.transcripts else "")
            return self._decide(MACHINE, "long_greeting", self.transcripts[-1] if self.transcripts else "")
        if self._in_speech and self.speech_s >= cfg.first_try_s and self._tried == 0 and self._keyword():
            return self._decide(MACHINE, "keyword", self.transcripts[-1])
        if self._in_speech and self.speech_s > cfg.max_human_greeting_s:
            return self._decide(MACHINE, "long_greeting", self.transcripts[-1] if self.transcripts else "")
        if not self._heard_speech and self.time_s >= cfg.silence_human_s:
            return self._decide(HUMAN, "silence")
        if self.time_s >= cfg.decide_by_s:
            # Still talking at the deadline after a good while: a recorded greeting. A person who
            # just finished a slow "喂，请问是谁？" (a short trailing silence) is not one.
            talking = self._in_speech and self._silence_s < 0.3 and self.speech_s >= 1.5
            if talking or self.speech_s > cfg.max_human_greeting_s:
                return self._decide(
                    MACHINE, "long_greeting", self.transcripts[-1] if self.transcripts else ""
                )
            return self._decide(HUMAN, "timeout")
        return None

    def _speech(self, frame: bytes) -> bool:
        probs = [f.probability for f in self.vad.feed(frame)]
        if probs:
            self._last_speech = max(probs) >= self.config.speech_threshold
        return self._last_speech and not self.tones.tonal_now

    def _keyword(self) -> bool:
        """Transcribe the greeting so far (once per length step) and look for voicemail keywords."""
        if self.recognizer is None or len(self._segment) <= self._tried:
            return False
        self._tried = len(self._segment)
        t0 = time.perf_counter()
        transcript = self.recognizer.transcribe(bytes(self._segment), SAMPLE_RATE)
        self.asr_s += time.perf_counter() - t0
        texts = [transcript.text, *(text for text, _score in getattr(transcript, "alternatives", ()))]
        self.transcripts.append(transcript.text)
        return voicemail_phrase(texts) is not None

    def _decide(self, kind: str, reason: str, text: str = "", beep_at_s: float | None = None) -> AmdDecision:
        self.decision = AmdDecision(kind, reason, self.time_s, text, beep_at_s, self.asr_s)
        return self.decision
