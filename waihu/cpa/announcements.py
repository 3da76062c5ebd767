"""Carrier announcements in early media: busy tone, ring-back, and recorded messages (空号识别).

:class:`AnnouncementDetector` is fed the early-media frames of one ringing call. Tone cadences are
tracked on every frame (cheap); speech (Silero VAD, tonal frames excluded) is collected and
transcribed while it grows and when it pauses, and the phrase rules of :mod:`waihu.cpa.phrases` run
on every transcript. The first rule that fires is the decision: the caller hangs up at once.
Synchronous and deterministic for a given audio stream: the async glue is :mod:`waihu.cpa.early_media`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from waihu.cpa.phrases import ANNOUNCEMENT_PHRASES, classify_announcement, phrase_support, sound_similarity
from waihu.cpa.tones import ToneTracker

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
BYTES_PER_S = SAMPLE_RATE * 2

#: Whisper's initial prompt: the carriers' own wording. Measured on whole Kokoro announcements (15
#: wordings): 11/15 classified without it, 15/15 with it. But on a short piece of other speech
#: (对不起, 欢迎您使用彩…) Whisper then writes the prompt back: a prompted match is only believed when
#: an unprompted decode of the same audio sounds alike (:data:`MIN_SOUND_SIMILARITY`).
ANNOUNCEMENT_PROMPT = "您拨打的号码是空号。您拨打的电话已关机。已停机。暂时无法接通。正在通话中。"
#: Silence appended before transcription: the short-window decoder allows ~6 tokens per second of
#: audio, fewer than a carrier's fast announcement needs (it cut "已停机" to "以停").
TAIL_PAD = bytes(int(1.2 * SAMPLE_RATE) * 2)
#: Folded-pinyin similarity between the prompted and the unprompted transcript for a prompted match
#: to count (宁博打得浩马吃恐厚 vs 您拨打的号码是空号: 0.67; 欢迎您使用彩 vs 您拨打的号码是空号: 0.1).
MIN_SOUND_SIMILARITY = 0.45
#: And the unprompted decode must carry the key phrase's sound (关系 for 关机: 0.75; 暂时 for 停机:
#: 0.25; "的号" for 空号: 0.5, which let an n-best alternative's 空号 through once).
MIN_PHRASE_SUPPORT = 0.75

#: Outcomes an announcement (or a tone) can decide, as the service names them.
ANNOUNCEMENT_OUTCOMES: tuple[str, ...] = (
    "invalid_number",
    "powered_off",
    "suspended",
    "unreachable",
    "busy",
    "no_answer",
)


class Recognizer(Protocol):
    """The part of :class:`asr.base.UtteranceRecognizer` used here."""

    def transcribe(self, pcm: bytes, sample_rate: int, *, initial_prompt: str | None = None) -> Any:
        """A transcript with ``text`` (and optionally ``alternatives``)."""
        ...


class FrameVad(Protocol):
    """Speech probabilities per chunk (see :class:`asr.vad.SileroVad`)."""

    def feed(self, pcm: bytes) -> list[Any]:
        """VadFrame-like objects with ``probability``."""
        ...


@dataclass(frozen=True)
class Decision:
    """A recognised announcement or tone.

    ``outcome``: one of :data:`ANNOUNCEMENT_OUTCOMES`; ``text``: what was recognised (the tone's name
    for a tone); ``audio_s``: seconds of early media heard when the decision was made; ``source``:
    ``"speech"`` or ``"tone"``; ``asr_s``: time spent in speech recognition so far, ``last_asr_s`` in
    the transcription that decided (the decision comes that long after ``audio_s`` in a live call).
    """

    outcome: str
    text: str
    audio_s: float
    source: str
    phrase: str = ""
    asr_s: float = 0.0
    last_asr_s: float = 0.0


@dataclass(frozen=True)
class DetectorConfig:
    """When to transcribe: thresholds in seconds of audio."""

    speech_threshold: float = 0.5
    #: Speech this long that then pauses this long is transcribed as a whole.
    min_speech_s: float = 0.4
    pause_s: float = 0.3
    #: A segment still growing is transcribed every ``step_s`` once it is ``first_try_s`` long
    #: (an announcement is one long utterance: its first clause usually names the class).
    first_try_s: float = 1.4
    step_s: float = 0.8
    #: Segments longer than this are cut (announcements repeat; Whisper's window stays short).
    max_segment_s: float = 8.0


class AnnouncementDetector:
    """Early media of one call → :class:`Decision` (or None while unsure)."""

    def __init__(
        self, recognizer: Recognizer, vad: FrameVad | None = None, config: DetectorConfig | None = None
    ) -> None:
        if vad is None:
            from asr.vad import SileroVad

            vad = SileroVad(SAMPLE_RATE)
        self.recognizer = recognizer
        self.vad = vad
        self.config = config or DetectorConfig()
        self.tones = ToneTracker()
        self.decision: Decision | None = None
        self.transcripts: list[str] = []
        self.asr_s = 0.0
        self.last_asr_s = 0.0
        self._segment = bytearray()
        self._in_speech = False
        self._silence_s = 0.0
        self._tried_len = 0
        self._last_speech = False

    @property
    def audio_s(self) -> float:
        """Seconds of early media fed."""
        return self.tones.time_s

    @property
    def ringback_heard(self) -> bool:
        """At least one ring-back cycle was heard."""
        return self.tones.ringbacks > 0

    def feed(self, frame: bytes) -> Decision | None:
        """One 20 ms frame; returns the decision once there is one (and keeps returning it)."""
        if self.decision is not None:
            return self.decision
        self.tones.feed(frame)
        if self.tones.busy():
            return self._decide("busy", "busy tone", "tone", "")
        speech = self._speech(frame)
        cfg = self.config
        if speech:
            self._segment += frame
            self._in_speech = True
            self._silence_s = 0.0
        elif self._in_speech:
            self._segment += frame  # keep short pauses inside the utterance
            self._silence_s += len(frame) / BYTES_PER_S
        seg_s = len(self._segment) / BYTES_PER_S
        if self._in_speech and self._silence_s >= cfg.pause_s:
            if seg_s - self._silence_s >= cfg.min_speech_s:
                self._transcribe()
            self._reset_segment()
        elif self._in_speech and seg_s >= cfg.first_try_s:
            grown = (len(self._segment) - self._tried_len) / BYTES_PER_S
            if self._tried_len == 0 or grown >= cfg.step_s:
                self._transcribe()
            if seg_s >= cfg.max_segment_s and self.decision is None:
                self._reset_segment()
        return self.decision

    def finish(self) -> Decision | None:
        """Ringing is over: transcribe what speech is left and return the decision (or None)."""
        if self.decision is None and self._in_speech:
            speech_s = len(self._segment) / BYTES_PER_S - self._silence_s
            if speech_s >= self.config.min_speech_s and len(self._segment) > self._tried_len:
                self._transcribe()
            self._reset_segment()
        return self.decision

    def _speech(self, frame: bytes) -> bool:
        probs = [f.probability for f in self.vad.feed(frame)]
        if probs:
            self._last_speech = max(probs) >= self.config.speech_threshold
        # The VAD answers every 32 ms: a 20 ms frame without a chunk of its own keeps the last answer.
        return self._last_speech and not self.tones.tonal_now

    def _transcribe(self) -> None:
        pcm = bytes(self._segment)
        self._tried_len = len(self._segment)
        t0 = time.perf_counter()
        prompted = self.recognizer.transcribe(pcm + TAIL_PAD, SAMPLE_RATE, initial_prompt=ANNOUNCEMENT_PROMPT)
        self.transcripts.append(prompted.text)
        match = classify_announcement(_texts(prompted))
        if match is not None:
            plain = self.recognizer.transcribe(pcm + TAIL_PAD, SAMPLE_RATE)
            self.transcripts.append(plain.text)
            agrees = classify_announcement(_texts(plain))
            similar = sound_similarity(match.text, plain.text)
            support = max(phrase_support(p, plain.text) for p in ANNOUNCEMENT_PHRASES[match.label])
            believed = (agrees is not None and agrees.label == match.label) or (
                similar >= MIN_SOUND_SIMILARITY and support >= MIN_PHRASE_SUPPORT
            )
            if not believed:
                log.info(
                    "early media: %r not believed (unprompted %r, %.2f)", prompted.text, plain.text, similar
                )
                match = None
        self.last_asr_s = time.perf_counter() - t0
        self.asr_s += self.last_asr_s
        log.debug("early media %.1f s: %r -> %s", self.audio_s, prompted.text, match)
        if match is not None:
            self._decide(match.label, match.text, "speech", match.phrase)

    def _reset_segment(self) -> None:
        self._segment = bytearray()
        self._in_speech = False
        self._silence_s = 0.0
        self._tried_len = 0

    def _decide(self, outcome: str, text: str, source: str, phrase: str) -> Decision:
        last = self.last_asr_s if source == "speech" else 0.0
        self.decision = Decision(outcome, text, self.audio_s, source, phrase, self.asr_s, last)
        return self.decision


def _texts(transcript: Any) -> list[str]:
    """The best text and the n-best alternatives of a transcript."""
    return [transcript.text, *(text for text, _score in getattr(transcript, "alternatives", ()))]


def feed_all(detector: Any, pcm: bytes, frame_bytes: int = 320) -> Any:
    """Feed ``pcm`` frame by frame to a detector (announcement or answering machine) until it
    decides; then ``finish()`` it when it has one. Returns the detector (tests and benchmarks)."""
    for i in range(0, len(pcm) - frame_bytes + 1, frame_bytes):
        if detector.feed(pcm[i : i + frame_bytes]) is not None:
            break
    if hasattr(detector, "finish"):
        detector.finish()
    return detector
