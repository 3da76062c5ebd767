"""Early media: the audio a ringing call carries before any answer (``183 Session Progress`` with SDP).

Carriers play ring-back tones, busy tones and announcements (您拨打的号码是空号 …) there. The engine
hands those frames to an :class:`EarlyMedia` tap given to :meth:`telephony.SipEngine.dial`; whoever
listens may :meth:`EarlyMedia.stop` the ringing (the engine CANCELs). Plain asyncio data: the
telephony layer knows nothing about what the audio means.
"""

from __future__ import annotations

import asyncio

#: Frames kept for a slow listener before the oldest are dropped (60 s of 20 ms frames).
MAX_EARLY_FRAMES = 3000


class EarlyMedia:
    """Early-media frames (20 ms, 8 kHz, 16-bit mono) of one ringing call, and a stop switch.

    Create it on the event loop that dials. ``frames`` ends with ``b""`` once the call is answered
    or over (no more early media will come). ``stop(reason)`` asks the engine to CANCEL the call;
    the reason comes back in :attr:`telephony.DialOutcome.stop_reason`.
    """

    def __init__(self) -> None:
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self._stop: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.first_frame_at: float | None = None
        self.dropped_frames = 0
        self.closed = False

    def stop(self, reason: str) -> None:
        """Stop ringing: the engine CANCELs the INVITE (no effect once answered or ended)."""
        if not self._stop.done():
            self._stop.set_result(reason)

    @property
    def stop_reason(self) -> str | None:
        """What :meth:`stop` was given, or None."""
        return self._stop.result() if self._stop.done() else None

    @property
    def stop_requested(self) -> asyncio.Future[str]:
        """Resolved when :meth:`stop` is called (the engine waits on it)."""
        return self._stop

    def push(self, pcm: bytes, at: float) -> None:
        """Engine side: one early frame (ignored once closed)."""
        if self.closed:
            return
        if self.first_frame_at is None:
            self.first_frame_at = at
        if self.frames.qsize() >= MAX_EARLY_FRAMES:
            self.frames.get_nowait()
            self.dropped_frames += 1
        self.frames.put_nowait(pcm)

    def close(self) -> None:
        """Engine side: ringing is over (answered or failed); listeners get ``b""``."""
        if not self.closed:
            self.closed = True
            self.frames.put_nowait(b"")
