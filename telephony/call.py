"""The asyncio handle of an answered call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telephony.events import CallEvent, DtmfReceived, Ended, PlaybackDrained, RemoteHangup, TransferResult
from telephony.outcome import CallOutcome, HangupBy
from telephony.pcm import FRAME_MS, to_phone_rate
from telephony.pjobjects import LegHooks
from telephony.recording import StereoRecorder
from telephony.summary import SUMMARY_HEADER, encode_summary

if TYPE_CHECKING:
    from telephony.engine import SipEngine

log = logging.getLogger(__name__)
#: Frames kept for a slow consumer before the oldest are dropped (10 s).
MAX_QUEUED_FRAMES = 500


@dataclass
class LegState:
    """asyncio-side bookkeeping of one pjsua2 call leg (ours or a bridged seat)."""

    leg_id: int
    hooks: LegHooks
    started_at: float
    target: str
    ring_at: float | None = None
    answer_at: float | None = None
    end_at: float | None = None
    end_code: int = 0
    end_reason: str = ""
    local_error: bool = False
    cancelled_by_us: bool = False
    hangup_by: HangupBy | None = None
    setup: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    ended: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    call: Call | None = None
    peer: LegState | None = None
    is_seat: bool = False
    #: An incoming call answered by a test peer (see ``SipConfig.answer_incoming``).
    incoming: bool = False
    #: A seat leg's progress: called on the loop with ``("ringing" | "answered", time.time())``.
    on_progress: Callable[[str, float], None] | None = None


class Call:
    """An answered call: audio in (``frames``), audio out (``play``), DTMF, transfer, hang-up.

    All methods must be called from the event loop that ran :meth:`SipEngine.dial`. ``events``
    receives :mod:`telephony.events` dataclasses; :class:`~telephony.events.Ended` is always last.
    """

    def __init__(self, engine: SipEngine, st: LegState, recorder: StereoRecorder | None) -> None:
        self._engine = engine
        self._st = st
        self._recorder = recorder
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._xfer: asyncio.Future[tuple[int, str]] | None = None
        self._ended_event: Ended | None = None
        self._ended_fut: asyncio.Future[Ended] = asyncio.get_running_loop().create_future()
        self.dropped_frames = 0
        self.transferred = False
        #: Transfer requests (REFER) the callee sent and the engine refused: a sign of an attack.
        self.refused_transfer_requests = 0

    # --- properties -------------------------------------------------------------------------------
    @property
    def target(self) -> str:
        """The URI dialled (for an incoming call: the local URI the caller asked for)."""
        return self._st.target

    @property
    def id(self) -> int:
        """Engine-local id of this call."""
        return self._st.leg_id

    @property
    def answer_at(self) -> float | None:
        """``time.time()`` at CONFIRMED."""
        return self._st.answer_at

    @property
    def end_at(self) -> float | None:
        """``time.time()`` at DISCONNECTED (None while up)."""
        return self._st.end_at

    @property
    def is_up(self) -> bool:
        """True until the call is disconnected."""
        return self._st.end_at is None

    @property
    def recording_path(self) -> Path | None:
        """Where the stereo WAV (callee left, robot right) is written when the call ends."""
        return None if self._recorder is None else self._recorder.path

    @property
    def playing(self) -> bool:
        """Robot audio is still queued."""
        return len(self._st.hooks.playback) > 0

    @property
    def queued_ms(self) -> int:
        """Milliseconds of robot audio still queued."""
        return self._st.hooks.playback.queued_ms

    # --- audio ------------------------------------------------------------------------------------
    def play(self, pcm: bytes, sample_rate: int = 8000) -> float:
        """Queue 16-bit mono PCM for the callee (resampled to 8 kHz); returns the seconds queued.

        Non-blocking; frames leave every 20 ms. Ignored (returns 0) once the call ended or was bridged.
        """
        if not self.is_up or self._st.hooks.send_robot_audio is False:  # ended or bridged to a seat
            return 0.0
        pcm8k = to_phone_rate(pcm, sample_rate)
        n = self._st.hooks.playback.push(pcm8k)
        if n:
            self._idle.clear()
        return n * FRAME_MS / 1000

    def stop_playback(self) -> int:
        """Barge-in: drop all queued robot audio at once; returns the milliseconds dropped."""
        dropped = self._st.hooks.playback.clear()
        self._idle.set()
        return dropped * FRAME_MS

    async def wait_played(self) -> None:
        """Return when the queued audio has been sent, stopped or the call ended."""
        await self._idle.wait()

    async def audio(self) -> AsyncIterator[bytes]:
        """Iterate over callee frames (20 ms, 8 kHz, 16-bit mono) until the call ends."""
        while True:
            if self.frames.empty() and not self.is_up:
                return
            get = asyncio.ensure_future(self.frames.get())
            waiting: set[asyncio.Future[Any]] = {get, self._st.ended}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if get in done:
                yield get.result()
            else:
                get.cancel()

    # --- control ----------------------------------------------------------------------------------
    async def send_dtmf(self, digits: str, *, method: str = "rfc2833", duration_ms: int = 160) -> None:
        """Send DTMF digits (``method`` ``"rfc2833"`` or ``"info"``)."""
        if method not in ("rfc2833", "info"):
            raise ValueError("method must be 'rfc2833' or 'info'")
        pj = self._engine._pj_thread()
        await asyncio.wrap_future(
            pj.submit(lambda: pj.send_dtmf(self.id, digits, method, duration_ms)),
        )

    async def hangup(self) -> Ended:
        """Hang up (robot side) and wait for the end of the call."""
        if self.is_up:
            self._st.hangup_by = self._st.hangup_by or HangupBy.ROBOT
            await self._engine._hangup_leg(self._st)
        return await self.wait_ended()

    async def wait_ended(self) -> Ended:
        """Wait until the call is over (the recording, if any, is written by then)."""
        return await asyncio.shield(self._ended_fut)

    async def transfer_blind(
        self,
        target_uri: str,
        *,
        summary: Any = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 20.0,
        hangup_on_success: bool = True,
        summary_in_uri: bool = True,
    ) -> TransferResult:
        """REFER the callee to ``target_uri``; the result comes from the final NOTIFY.

        The summary travels as a header of the REFER (for a PBX/trunk that maps it) and, with
        ``summary_in_uri``, as a header parameter of the Refer-To URI, which a transferee copies
        into its INVITE to the seat. Some UAs cap the Refer-To length (baresip: ~256 characters):
        pass a short summary or a reference to one there. On success the robot hangs up
        (``Ended.transferred``) unless ``hangup_on_success`` is False.
        """
        hdrs = dict(headers or {})
        refer_to = target_uri
        if summary is not None:
            value = encode_summary(summary)
            hdrs[SUMMARY_HEADER] = value
            if summary_in_uri:
                refer_to = add_uri_header(target_uri, SUMMARY_HEADER, value)
        loop = asyncio.get_running_loop()
        self._xfer = loop.create_future()
        pj = self._engine._pj_thread()
        try:
            await asyncio.wrap_future(pj.submit(lambda: pj.xfer(self.id, refer_to, hdrs)))
            code, reason = await asyncio.wait_for(asyncio.shield(self._xfer), timeout_s)
        except TimeoutError:
            code, reason = 408, "no final NOTIFY"
        except Exception as e:
            code, reason = 0, str(e)
        ok = 200 <= code < 300
        result = TransferResult("blind", ok, ok, code, reason, time.time())
        self.events.put_nowait(result)
        if ok:
            self.transferred = True
            if hangup_on_success and self.is_up:
                await self.hangup()
        return result

    async def transfer_bridged(
        self,
        seat_uri: str,
        *,
        summary: Any = None,
        headers: dict[str, str] | None = None,
        ring_timeout_s: float = 30.0,
        caller_id: str | None = None,
        on_progress: Callable[[str, float], None] | None = None,
    ) -> TransferResult:
        """Dial the seat as a second call and connect the two audio legs (for trunks without REFER).

        The robot stops talking once the seat answers; the call ends when either side hangs up
        (``Ended.by`` is ``seat`` when the seat did). The recording's right channel carries the
        seat while bridged. The second leg counts against the 4-call cap. ``on_progress`` hears the
        seat leg's ``"ringing"`` (screen pop) and ``"answered"`` (stop the hold audio) as they happen.
        """
        hdrs = dict(headers or {})
        if summary is not None:
            hdrs[SUMMARY_HEADER] = encode_summary(summary)
        outcome = await self._engine._dial(
            seat_uri,
            ring_timeout_s=ring_timeout_s,
            caller_id=caller_id,
            headers=hdrs,
            seat_for=self._st,
            on_progress=on_progress,
        )
        now = time.time()
        times = {
            "offered_at": outcome.started_at,
            "ring_at": outcome.ring_at,
            "answer_at": outcome.answer_at,
        }
        if outcome.outcome is not CallOutcome.ANSWERED:
            result = TransferResult("bridged", False, False, outcome.sip_code, outcome.reason, now, **times)
        elif not self.is_up:
            reason = "callee gone before the seat answered"
            result = TransferResult("bridged", False, True, 200, reason, now, **times)
        else:
            self.stop_playback()
            try:
                await self._engine._bridge(self._st)
                result = TransferResult("bridged", True, True, 200, "bridged", now, **times)
                self.transferred = True
            except Exception as e:
                result = TransferResult("bridged", False, True, 0, str(e), now, **times)
        if not result.success and self._st.peer is not None:
            await self._engine._hangup_leg(self._st.peer)
            self._st.peer = None
        self.events.put_nowait(result)
        return result

    # --- engine callbacks -------------------------------------------------------------------------
    def _on_frame(self, pcm: bytes) -> None:
        if self.frames.qsize() >= MAX_QUEUED_FRAMES:
            self.frames.get_nowait()
            self.dropped_frames += 1
        self.frames.put_nowait(pcm)

    def _on_dtmf(self, digit: str, method: str, duration_ms: int, at: float) -> None:
        self.events.put_nowait(DtmfReceived(digit, method, duration_ms, at))

    def _on_drained(self, at: float) -> None:
        if len(self._st.hooks.playback) == 0 and not self._idle.is_set():
            self._idle.set()
            self.events.put_nowait(PlaybackDrained(at))

    def _on_xfer(self, code: int, reason: str, final: bool) -> None:
        log.info("call %d: transfer status %d %s%s", self.id, code, reason, " (final)" if final else "")
        if final and self._xfer is not None and not self._xfer.done():
            self._xfer.set_result((code, reason))

    async def _on_ended(self) -> None:
        st = self._st
        self._st.hooks.playback.clear()
        self._idle.set()
        peer = st.peer
        if peer is not None and not peer.ended.done():  # bridged: Ended means both legs are gone
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(peer.ended), 5)
        path = None
        if self._recorder is not None and st.answer_at is not None:
            try:
                path = str(await asyncio.to_thread(self._recorder.write))
            except OSError as e:
                log.error("call %d: writing the recording failed: %s", self.id, e)
        by = st.hangup_by or (HangupBy.NETWORK if st.local_error else HangupBy.CALLEE)
        cls = RemoteHangup if by in (HangupBy.CALLEE, HangupBy.SEAT) else Ended
        assert st.end_at is not None
        self._ended_event = cls(by, st.end_code, st.end_reason, st.end_at, path, self.transferred)
        if self._xfer is not None and not self._xfer.done():
            self._xfer.set_result((st.end_code, "call ended during transfer"))
        self.events.put_nowait(self._ended_event)
        self._ended_fut.set_result(self._ended_event)


def add_uri_header(uri: str, name: str, value: str) -> str:
    """``sip:a@b`` + header → ``<sip:a@b?Name=value>`` (RFC 3261 URI headers; value must be URI-safe)."""
    inner = uri.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    sep = "&" if "?" in inner else "?"
    return f"<{inner}{sep}{name}={value}>"
