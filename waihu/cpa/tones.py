"""Pure tones in telephone audio: per-frame tone detection and the cadences carriers use.

A frame is *tonal* when nearly all its energy sits in one or two narrow peaks (a sine or a dual
tone), which speech and music rarely do for long. Bursts of tonal frames are matched against the
cadences of the usual call-progress tones (ITU-T E.180 and China's YD/T 1278):

- ring-back: 450 Hz (China) or 440+480 Hz (US), ~1 s (China) or 2 s (US) on, ~4 s off;
- busy: 450 Hz 0.35 s on / 0.35 s off (China), 480+620 Hz 0.5/0.5 (US);
- a beep (answering machines): one short tone after the greeting.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 8000
FRAME_S = 0.02
_FFT = 1024
_BIN_HZ = SAMPLE_RATE / _FFT
#: Energy within this distance of a peak counts as the peak (the 40 ms Hann window's main lobe).
_PEAK_HALF_WIDTH_HZ = 60.0
#: A frame quieter than this RMS (16-bit) is silence, never a tone (about -40 dBFS).
MIN_TONE_RMS = 300.0
#: Share of the frame's energy in its one or two peaks for the frame to be tonal.
MIN_TONALITY = 0.85
#: Share of the energy in the single strongest peak for a *pure* frame (beeps).
PURE_TONALITY = 0.95


@dataclass(frozen=True)
class FrameTone:
    """Analysis of one 20 ms frame: its RMS, whether it is tonal, and the main peak's frequency."""

    rms: float
    tonal: bool
    hz: float
    #: One single peak holds the energy (a beep or a single-frequency tone; not a dual tone, and
    #: rarely a vowel, whose harmonics share it).
    pure: bool = False


def analyse(prev: bytes, frame: bytes) -> FrameTone:
    """Tone analysis of ``frame`` (16-bit mono 8 kHz) over a 40 ms window ending with it."""
    x = np.frombuffer(prev + frame, dtype="<i2").astype(np.float64)
    if x.size == 0:
        return FrameTone(0.0, False, 0.0)
    current = x[-len(frame) // 2 :] if frame else x
    rms = float(np.sqrt(np.mean(current * current))) if current.size else 0.0
    if rms < MIN_TONE_RMS:
        return FrameTone(rms, False, 0.0)
    power = np.abs(np.fft.rfft(x * np.hanning(x.size), _FFT)) ** 2
    total = float(power.sum())
    if total <= 0:
        return FrameTone(rms, False, 0.0)
    half = int(_PEAK_HALF_WIDTH_HZ / _BIN_HZ)
    work = power.copy()
    share = 0.0
    main_hz = 0.0
    first = 0.0
    for i in range(2):  # a single tone or a dual tone (US ring-back, busy)
        peak = int(np.argmax(work))
        if i == 0:
            main_hz = peak * _BIN_HZ
        lo, hi = max(0, peak - half), peak + half + 1
        share += float(work[lo:hi].sum()) / total
        if i == 0:
            first = share
        work[lo:hi] = 0.0
        if share >= MIN_TONALITY:
            break
    in_band = 300.0 <= main_hz <= 2500.0
    return FrameTone(rms, share >= MIN_TONALITY and in_band, main_hz, first >= PURE_TONALITY and in_band)


@dataclass(frozen=True)
class Burst:
    """One run of tonal frames: start and end (seconds of audio fed) and its mean frequency."""

    start_s: float
    end_s: float
    hz: float
    #: Share of its frames that were pure single tones (see :attr:`FrameTone.pure`).
    purity: float = 0.0

    @property
    def length_s(self) -> float:
        """Duration in seconds."""
        return self.end_s - self.start_s


#: Busy tone: bursts and gaps of this length (s), this many in a row.
BUSY_ON_S = (0.2, 0.65)
BUSY_OFF_S = (0.2, 0.65)
BUSY_BURSTS = 3
#: Ring-back: a burst of this length, then a gap of at least ``RINGBACK_MIN_OFF_S``.
RINGBACK_ON_S = (0.7, 2.6)
RINGBACK_MIN_OFF_S = 2.0


@dataclass
class ToneTracker:
    """Feeds 20 ms frames; keeps the tonal bursts and recognises busy tone and ring-back cadences.

    ``tonal_now`` tells a caller to keep the current frame away from speech recognition.
    """

    time_s: float = 0.0
    bursts: list[Burst] = field(default_factory=list)
    tonal_now: bool = False
    ringbacks: int = 0
    _prev: bytes = b""
    _run_start: float | None = None
    _run_hz: list[float] = field(default_factory=list)
    _run_pure: int = 0
    _gap_frames: int = 0
    _ringback_pending: Burst | None = None

    def feed(self, frame: bytes) -> Burst | None:
        """Analyse one frame; returns a burst when one just ended (one non-tonal frame is tolerated)."""
        tone = analyse(self._prev, frame)
        self._prev = frame
        start = self.time_s
        self.time_s += len(frame) / 2 / SAMPLE_RATE
        self.tonal_now = tone.tonal
        ended: Burst | None = None
        if tone.tonal:
            if self._run_start is None:
                self._run_start = start
            self._run_hz.append(tone.hz)
            self._run_pure += tone.pure
            self._gap_frames = 0
        elif self._run_start is not None:
            self._gap_frames += 1
            if self._gap_frames >= 2:  # a single dropped frame does not end a tone
                end = self.time_s - self._gap_frames * FRAME_S
                purity = self._run_pure / len(self._run_hz)
                ended = Burst(self._run_start, end, float(np.median(self._run_hz)), purity)
                self._run_start, self._run_hz, self._gap_frames, self._run_pure = None, [], 0, 0
                if ended.length_s >= 0.1:
                    self.bursts.append(ended)
                    del self.bursts[:-8]
                    if RINGBACK_ON_S[0] <= ended.length_s <= RINGBACK_ON_S[1]:
                        self._ringback_pending = ended
                else:
                    ended = None
        pending = self._ringback_pending
        if (
            pending is not None
            and self._run_start is None
            and self.time_s - pending.end_s >= RINGBACK_MIN_OFF_S
        ):
            self.ringbacks += 1
            self._ringback_pending = None
        elif pending is not None and self._run_start is not None:
            self._ringback_pending = None  # the next tone came too soon for a ring-back
        return ended

    def busy(self) -> bool:
        """The last bursts follow the busy-tone cadence."""
        recent = self.bursts[-BUSY_BURSTS:]
        if len(recent) < BUSY_BURSTS:
            return False
        if not all(BUSY_ON_S[0] <= b.length_s <= BUSY_ON_S[1] for b in recent):
            return False
        gaps = [b.start_s - a.end_s for a, b in itertools.pairwise(recent)]
        if not all(BUSY_OFF_S[0] <= g <= BUSY_OFF_S[1] for g in gaps):
            return False
        freqs = [b.hz for b in recent]
        return max(freqs) - min(freqs) <= 60.0


def tone(hz: float | tuple[float, ...], seconds: float, amplitude: float = 0.25) -> bytes:
    """A (dual) tone as 16-bit mono 8 kHz PCM, for test audio and hold signals."""
    freqs = (hz,) if isinstance(hz, int | float) else hz
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    return (np.asarray(y) * amplitude * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    """Digital silence as 16-bit mono 8 kHz PCM."""
    return bytes(int(seconds * SAMPLE_RATE) * 2)


def ringback(cycles: int, *, on_s: float = 1.0, off_s: float = 4.0, hz: float = 450.0) -> bytes:
    """China's ring-back tone (450 Hz, 1 s on, 4 s off) for ``cycles`` cycles."""
    return (tone(hz, on_s) + silence(off_s)) * cycles


def busy_tone(cycles: int, *, on_s: float = 0.35, off_s: float = 0.35, hz: float = 450.0) -> bytes:
    """China's busy tone (450 Hz, 0.35 s on, 0.35 s off) for ``cycles`` cycles."""
    return (tone(hz, on_s) + silence(off_s)) * cycles
