"""What the callee hears while a seat rings: a short "please hold" line, then a soft music loop.

The callee must never sit in silence during a transfer (they would hang up thinking the line died). The
line comes from the flow's speech output (its TTS voice and prompt cache); the music is generated here:
a slow arpeggio of soft sine notes, with no gap between notes, kept about a second ahead in the call's
playback queue until :meth:`HoldAudio.stop`. A line not in the prompt cache is synthesised while the
music already plays, and interrupts it once ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

#: The line said before the music when the flow names none.
DEFAULT_HOLD_PROMPT = {"zh": "请稍等，正在为您转接", "en": "Please hold, transferring your call."}
#: The hold music's notes: a C major arpeggio (C5 E5 G5 E5), 0.5 s a note; pleasant, and clearly
#: not a ring-back or busy tone.
HOLD_NOTES_HZ = (523.25, 659.25, 783.99, 659.25)
_NOTE_S = 0.5
_AHEAD_MS = 1000  # queued ahead of the wire: enough to ride out a slow event loop, short to stop
_TOP_UP_S = 0.2
#: How long the hold line may take to render before the music starts without it (it follows when ready:
#: a line synthesised on the spot must not leave the callee in silence meanwhile).
_CACHED_S = 0.1


class HoldCall(Protocol):
    """The part of :class:`telephony.Call` hold audio needs."""

    @property
    def queued_ms(self) -> int:
        """Milliseconds of audio still queued towards the callee."""

    @property
    def is_up(self) -> bool:
        """True until the call ends."""

    def play(self, pcm: bytes, sample_rate: int = 8000) -> float:
        """Queue 16-bit mono PCM for the callee."""

    def stop_playback(self) -> int:
        """Drop all queued audio."""


def hold_prompt(text: str | None, language: str) -> str:
    """The hold line: the flow's own, else the language's default."""
    return text or DEFAULT_HOLD_PROMPT.get(language, DEFAULT_HOLD_PROMPT["zh"])


def hold_music(sample_rate: int = 8000, amplitude: float = 0.12) -> bytes:
    """One loop of the hold music (16-bit mono PCM): notes with soft attacks, continuous end to end."""
    n = int(_NOTE_S * sample_rate)
    t = np.arange(n) / sample_rate
    fade = min(n // 4, int(0.05 * sample_rate))
    envelope = np.ones(n)
    envelope[:fade] = np.linspace(0.35, 1.0, fade)  # never down to zero: no audible gap between notes
    envelope[-fade:] = np.linspace(1.0, 0.35, fade)
    notes = [
        np.sin(2 * np.pi * hz * t) * 0.8
        + np.sin(2 * np.pi * hz / 2 * t) * 0.2  # a little body an octave down
        for hz in HOLD_NOTES_HZ
    ]
    wave = np.concatenate([note * envelope for note in notes]) * amplitude * 32767
    return wave.astype("<i2").tobytes()


class HoldAudio:
    """Plays the hold line then loops the music on a call until stopped."""

    def __init__(self, call: HoldCall, render_prompt: Callable[[], tuple[bytes, int]] | None) -> None:
        """``render_prompt`` returns the hold line's (PCM, sample rate); it runs in a thread (TTS)."""
        self.call = call
        self.render_prompt = render_prompt
        self.music = hold_music()
        self._task: asyncio.Task[None] | None = None

    @property
    def playing(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the line and the music (no-op when already playing)."""
        if not self.playing:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Stop at once (the seat answered, or no seat did): drop what is queued."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
            self.call.stop_playback()

    async def _run(self) -> None:
        line: asyncio.Future[tuple[bytes, int]] | None = None
        if self.render_prompt is not None:
            line = asyncio.ensure_future(asyncio.to_thread(self.render_prompt))
            await asyncio.wait({line}, timeout=_CACHED_S)  # a cached line is there at once: it goes first
        with contextlib.suppress(asyncio.CancelledError):
            while self.call.is_up:
                if line is not None and line.done():
                    self._say(line)
                    line = None
                if self.call.queued_ms < _AHEAD_MS:
                    self.call.play(self.music)
                await asyncio.sleep(_TOP_UP_S)

    def _say(self, line: asyncio.Future[tuple[bytes, int]]) -> None:
        """The line is ready: it replaces the music queued meanwhile (the music resumes after it)."""
        try:
            pcm, rate = line.result()
        except Exception:  # the music alone still tells the callee the line is alive
            log.exception("rendering the hold line failed; playing the hold music only")
            return
        self.call.stop_playback()
        self.call.play(pcm, rate)
