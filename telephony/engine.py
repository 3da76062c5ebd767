"""The asyncio facade over the pjsua2 thread: start/stop, dial, and per-leg event routing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from telephony.call import Call, LegState
from telephony.config import MAX_CALLS_PER_PROCESS, SipConfig
from telephony.early import EarlyMedia
from telephony.errors import EngineNotRunning, TelephonyError, TooManyCalls
from telephony.events import CallAnswered
from telephony.outcome import CallOutcome, DialOutcome, HangupBy, classify
from telephony.pjobjects import LegHooks
from telephony.pjthread import PjThread
from telephony.privacy import mask_uri
from telephony.recording import StereoRecorder

log = logging.getLogger(__name__)
#: How long to wait for the final response after our CANCEL (pjsip gives up after 64*T1 = 32 s).
CANCEL_GRACE_S = 35.0


class SipEngine:
    """One SIP user agent (one per worker process, at most 4 calls).

    >>> engine = SipEngine(SipConfig(sip_port=5070))
    >>> await engine.start()
    >>> result = await engine.dial("sip:13800001234@trunk", ring_timeout_s=30)
    >>> if result.call: ...
    >>> await engine.stop()
    """

    def __init__(self, config: SipConfig) -> None:
        self.config = config
        self._pj: PjThread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._legs: dict[int, LegState] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Last registration result: (SIP code, reason, expiration s); None before any.
        self.registration: tuple[int, str, int] | None = None
        self._reg_changed: asyncio.Event | None = None
        self._incoming: asyncio.Queue[Call] = asyncio.Queue()

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start pjsua2 on its own thread: transports, account (registration if configured)."""
        if self._pj is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._reg_changed = asyncio.Event()
        pj = PjThread(self.config, self._post_registration, self._new_incoming)
        await asyncio.to_thread(pj.start)
        self._pj = pj
        log.info("SIP engine up on %s:%d", self.config.bind_address, self.config.sip_port)

    async def stop(self) -> None:
        """Hang up every call, wait for their ends, then destroy the pjsua2 library."""
        pj = self._pj
        if pj is None:
            return
        live = [st for st in self._legs.values() if st.end_at is None]
        for st in live:
            st.hangup_by = st.hangup_by or HangupBy.ROBOT
            await self._hangup_leg(st)
        if live:
            await asyncio.wait([st.ended for st in live], timeout=5)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._pj = None
        await asyncio.to_thread(pj.stop)
        for st in self._legs.values():
            if not st.setup.done():
                st.setup.set_exception(EngineNotRunning("engine stopped"))
        self._legs.clear()

    async def __aenter__(self) -> SipEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_registered(self, timeout_s: float = 10.0) -> bool:
        """Wait for the registrar's answer; True when registered (2xx with a non-zero expiry)."""
        if self.config.registration is None:
            return False
        assert self._reg_changed is not None
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self.registration is None:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            self._reg_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reg_changed.wait(), left)
        code, _reason, expiration = self.registration
        return 200 <= code < 300 and expiration > 0

    def _post_registration(self, code: int, reason: str, expiration: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_registration, code, reason, expiration)

    def _on_registration(self, code: int, reason: str, expiration: int) -> None:
        self.registration = (code, reason, expiration)
        if self._reg_changed is not None:
            self._reg_changed.set()

    @property
    def active_calls(self) -> int:
        """Call legs currently up or being set up (seat legs included)."""
        return sum(1 for st in self._legs.values() if st.end_at is None)

    # --- dialling ---------------------------------------------------------------------------------
    async def dial(
        self,
        target_uri: str,
        *,
        ring_timeout_s: float = 30.0,
        caller_id: str | None = None,
        headers: dict[str, str] | None = None,
        record: bool | None = None,
        early_media: EarlyMedia | None = None,
    ) -> DialOutcome:
        """Call ``target_uri`` and wait for the answer or the final failure.

        After ``ring_timeout_s`` without an answer the engine CANCELs (outcome ``no_answer``).
        Early media is ignored unless an :class:`EarlyMedia` tap is given: it then gets the frames
        before the answer, and its ``stop(reason)`` CANCELs the call at once (``stop_reason`` set).
        Returns a :class:`DialOutcome` whose ``call`` is set when answered.
        ``record`` (default: when ``config.recordings_dir`` is set) writes a stereo WAV per call.
        Raises :class:`TooManyCalls` when 4 legs are already up in this process.
        """
        return await self._dial(
            target_uri,
            ring_timeout_s=ring_timeout_s,
            caller_id=caller_id,
            headers=headers,
            record=record,
            early_media=early_media,
        )

    async def _dial(
        self,
        target_uri: str,
        *,
        ring_timeout_s: float,
        caller_id: str | None,
        headers: dict[str, str] | None,
        record: bool | None = None,
        seat_for: LegState | None = None,
        early_media: EarlyMedia | None = None,
        on_progress: Callable[[str, float], None] | None = None,
    ) -> DialOutcome:
        pj = self._pj_thread()
        if self.active_calls >= MAX_CALLS_PER_PROCESS:
            raise TooManyCalls(
                f"{MAX_CALLS_PER_PROCESS} calls already up: pjsua2 is compiled for at most "
                f"{MAX_CALLS_PER_PROCESS} per process; run more worker processes"
            )
        assert self._loop is not None
        leg_id = next(self._ids)
        recorder = None
        if seat_for is None and (record or (record is None and self.config.recordings_dir is not None)):
            rec_dir = self.config.recordings_dir or Path("recordings")
            stamp = time.strftime("%Y%m%d-%H%M%S")
            tail = "".join(ch for ch in target_uri.split("@")[0] if ch.isdigit())[-4:] or "x"
            recorder = StereoRecorder(rec_dir / f"{stamp}-{self.config.sip_port}-{leg_id}-{tail}.wav")
        hooks = LegHooks(
            post=partial(self._post, leg_id),
            on_frame=_noop,
            recorder=recorder,
            early_media=early_media is not None,
        )
        st = LegState(leg_id, hooks, time.time(), target_uri, is_seat=seat_for is not None)
        st.on_progress = on_progress
        if seat_for is None:
            st.call = Call(self, st, recorder)
            hooks.on_frame = partial(self._post_frame, st.call)
            if early_media is not None:
                hooks.on_frame = partial(self._post_early_frame, st, st.call, early_media)
        self._legs[leg_id] = st
        try:
            await asyncio.wrap_future(
                pj.submit(partial(pj.make_call, leg_id, target_uri, caller_id, headers, hooks))
            )
        except TelephonyError as e:
            st.end_at = time.time()
            self._legs.pop(leg_id, None)
            log.warning("dial %s failed: %s", mask_uri(target_uri), e)
            if early_media is not None:
                early_media.close()
            return DialOutcome(CallOutcome.FAILED, 0, str(e), st.started_at, end_at=st.end_at)
        try:
            try:
                waiting: set[asyncio.Future[Any]] = {st.setup}
                if early_media is not None:  # a listener may end the ringing (a carrier announcement)
                    waiting.add(early_media.stop_requested)
                await asyncio.wait(waiting, timeout=ring_timeout_s, return_when=asyncio.FIRST_COMPLETED)
                if not st.setup.done():
                    raise TimeoutError
            except TimeoutError:
                st.cancelled_by_us = True
                await asyncio.wrap_future(pj.submit(partial(pj.hangup, leg_id, cancelled=True)))
                await asyncio.wait_for(asyncio.shield(st.setup), CANCEL_GRACE_S)
        except asyncio.CancelledError:
            st.cancelled_by_us = True
            self._spawn(self._hangup_leg(st))
            raise
        finally:
            if early_media is not None:
                early_media.close()
        stop_reason = early_media.stop_reason if early_media is not None else None
        if st.setup.result() == "confirmed" and not st.cancelled_by_us:
            if seat_for is not None:
                seat_for.peer = st
                st.peer = seat_for
            elif st.call is not None:
                st.call.events.put_nowait(CallAnswered(st.answer_at or time.time()))
            log.info(
                "leg %d: answered %s in %.3f s",
                leg_id,
                mask_uri(target_uri),
                (st.answer_at or 0) - st.started_at,
            )
            return DialOutcome(
                CallOutcome.ANSWERED,
                200,
                "OK",
                st.started_at,
                st.ring_at,
                st.answer_at,
                None,
                st.call if seat_for is None else None,
            )
        if st.end_at is None:  # answered after our CANCEL: make sure it ends
            if st.setup.result() == "confirmed":
                await self._hangup_leg(st)
            await st.ended
        outcome = classify(st.end_code, cancelled_by_us=st.cancelled_by_us, transport_error=st.local_error)
        log.info("leg %d: %s %s (%d %s)", leg_id, mask_uri(target_uri), outcome, st.end_code, st.end_reason)
        return DialOutcome(
            outcome,
            st.end_code,
            st.end_reason,
            st.started_at,
            st.ring_at,
            None,
            st.end_at,
            stop_reason=stop_reason,
        )

    async def next_incoming(self) -> Call:
        """The next answered incoming call (only with ``SipConfig.answer_incoming``: test peers)."""
        if not self.config.answer_incoming:
            raise TelephonyError("this engine refuses incoming calls (SipConfig.answer_incoming is off)")
        return await self._incoming.get()

    def _new_incoming(self, local_uri: str) -> tuple[int, LegHooks]:
        """pjsua2 thread: an incoming call is being adopted; its bookkeeping is made on the loop."""
        leg_id = next(self._ids)
        hooks = LegHooks(post=partial(self._post, leg_id), on_frame=_noop)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._register_incoming, leg_id, hooks, local_uri)
        return leg_id, hooks

    def _register_incoming(self, leg_id: int, hooks: LegHooks, local_uri: str) -> None:
        st = LegState(leg_id, hooks, time.time(), local_uri)
        st.incoming = True
        st.call = Call(self, st, None)
        hooks.on_frame = partial(self._post_frame, st.call)
        self._legs[leg_id] = st

    # --- helpers used by Call -----------------------------------------------------------------------
    def _pj_thread(self) -> PjThread:
        if self._pj is None:
            raise EngineNotRunning("SipEngine is not started")
        return self._pj

    async def _hangup_leg(self, st: LegState) -> None:
        if st.end_at is not None or self._pj is None:
            return
        pj = self._pj
        await asyncio.wrap_future(pj.submit(partial(pj.hangup, st.leg_id)))

    async def _bridge(self, st: LegState) -> None:
        seat = st.peer
        if seat is None:
            raise TelephonyError("no seat leg to bridge")
        pj = self._pj_thread()
        await asyncio.wrap_future(pj.submit(partial(pj.bridge, st.leg_id, seat.leg_id)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- events from the pjsua2 thread ---------------------------------------------------------------
    def _post(self, leg_id: int, kind: str, *args: Any) -> None:
        """Called on pjsua2/media threads: hop onto the event loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closed between the check and the call
            loop.call_soon_threadsafe(self._on_leg_event, leg_id, kind, args)

    def _post_frame(self, call: Call, pcm: bytes) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(call._on_frame, pcm)

    def _post_early_frame(self, st: LegState, call: Call, early: EarlyMedia, pcm: bytes) -> None:
        """Media thread: frames before the answer go to the early-media tap, later ones to the call."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._route_frame, st, call, early, pcm, time.time())

    @staticmethod
    def _route_frame(st: LegState, call: Call, early: EarlyMedia, pcm: bytes, at: float) -> None:
        # Same loop queue as the "confirmed" event, so the order is kept: answered means call audio.
        if st.answer_at is None:
            early.push(pcm, at)
        else:
            call._on_frame(pcm)

    def _on_leg_event(self, leg_id: int, kind: str, args: tuple[Any, ...]) -> None:
        st = self._legs.get(leg_id)
        if st is None:
            return
        call = st.call
        if kind == "ringing":
            if st.ring_at is None:
                _progress(st, "ringing", args[1])
            st.ring_at = st.ring_at or args[1]
        elif kind == "confirmed":
            st.answer_at = args[0]
            _progress(st, "answered", args[0])
            if not st.setup.done():
                st.setup.set_result("confirmed")
            if st.incoming and call is not None:
                call.events.put_nowait(CallAnswered(args[0]))
                self._incoming.put_nowait(call)
        elif kind == "disconnected":
            self._on_disconnected(st, *args)
        elif call is None:
            return
        elif kind == "dtmf":
            call._on_dtmf(*args)
        elif kind == "drained":
            call._on_drained(*args)
        elif kind == "xfer":
            call._on_xfer(*args[:3])
        elif kind == "refused_refer":
            call.refused_transfer_requests += 1

    def _on_disconnected(self, st: LegState, code: int, reason: str, at: float, local_error: bool) -> None:
        st.end_at, st.end_code, st.end_reason, st.local_error = at, code, reason, local_error
        if not st.setup.done():
            st.setup.set_result("disconnected")
        if not st.ended.done():
            st.ended.set_result(None)
        peer = st.peer
        if peer is not None and peer.end_at is None and st.answer_at is not None:
            # Bridged (or being bridged): one side left, end the other.
            if st.is_seat:
                peer.hangup_by = peer.hangup_by or HangupBy.SEAT
            else:
                peer.hangup_by = peer.hangup_by or (st.hangup_by or HangupBy.CALLEE)
            self._spawn(self._hangup_leg(peer))
        if st.call is not None:
            self._spawn(st.call._on_ended())
        self._legs.pop(st.leg_id, None)


def _noop(_pcm: bytes) -> None:
    return None


def _progress(st: LegState, kind: str, at: float) -> None:
    """Tell a seat leg's listener; its failure must not break the engine's event handling."""
    if st.on_progress is None:
        return
    try:
        st.on_progress(kind, at)
    except Exception:
        log.exception("leg %d: the %s listener failed", st.leg_id, kind)
