"""Run the voice loop on a live SIP call: RTP frames in, robot frames out, events both ways.

The driver only moves audio and events between :class:`telephony.Call` and :class:`VoiceLoop`;
the loop itself is the same one the audio simulator runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from typing import Any

from dialog import actions as act
from dialog.state import CallResult
from telephony import DtmfReceived, Ended, TelephonyError, TransferResult
from telephony.call import Call
from telephony.outcome import DialOutcome
from waihu.call_record import CallRecord, utc_from_epoch
from waihu.voice.call_builder import CallSpec, SpeechParts, build_call
from waihu.voice.hold_audio import HoldAudio, hold_prompt
from waihu.voice.loop import ThreadRunner, VoiceLoop
from waihu.voice.seat_transfer import FixedSeat, SeatLeg, SeatSource, hunt

log = logging.getLogger(__name__)

#: One pool per process understands every call's utterances, off the calls' 20 ms media steps.
#: Two threads: the machine's cores (more would only slice the same CPU finer).
SPEECH_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="speech")
FRAME_WAIT_S = 0.1  # no RTP for this long (silence suppression, a stalled peer): step with silence
END_WAIT_S = 5.0


class SipCallControl:
    """:class:`~waihu.voice.loop.CallControl` on a telephony :class:`Call`.

    The voice loop steps in a worker thread (so one call's speech recognition never stalls another
    call's audio); everything that touches the call is handed back to the asyncio loop thread.
    """

    def __init__(
        self,
        call: Call,
        *,
        seats: SeatSource | None,
        transfer_mode: str = "bridged",
        hold_text: str | None = None,
    ) -> None:
        self.call = call
        self.seats = seats
        self.transfer_mode = transfer_mode
        #: Said to the callee while a seat rings, before the hold music (None: music only).
        self.hold_text = hold_text
        self.loop: VoiceLoop | None = None
        self.lock = threading.Lock()  # one of: a step in the worker thread, or an event handler
        self.tasks: set[asyncio.Task[Any]] = set()
        self.transfer_result: TransferResult | None = None
        #: Every seat rung for this call (the transfer record).
        self.seat_legs: list[SeatLeg] = []
        self._aio = asyncio.get_running_loop()

    def _spawn(self, make_coro: Any) -> None:
        def start() -> None:
            task = self._aio.create_task(make_coro())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        self._aio.call_soon_threadsafe(start)

    async def locked(self, function: Any, *args: Any) -> Any:
        """Run a VoiceLoop method in a worker thread, never alongside a step."""

        def run() -> Any:
            with self.lock:
                return function(*args)

        return await asyncio.to_thread(run)

    def stop_audio(self) -> None:
        """Barge-in: drop every robot frame already queued towards the callee."""
        self._aio.call_soon_threadsafe(self.call.stop_playback)

    def hangup(self) -> None:
        """The robot ends the call once its last words have played."""

        async def hang_up_after_playback() -> None:
            await self.call.wait_played()
            await self.call.hangup()

        self._spawn(hang_up_after_playback)

    def transfer(self, transfer: act.Transfer) -> None:
        """Hand the callee to the seat with the summary; tell the loop whether the seat answered."""
        self._spawn(lambda: self._transfer(transfer))

    async def _transfer(self, transfer: act.Transfer) -> None:
        assert self.loop is not None
        answered = False
        if self.seats is not None:
            await self.call.wait_played()
            result = None
            blind = self.transfer_mode == "blind"
            if not blind:
                try:
                    result = await self._hunt(transfer, self.seats)
                except TelephonyError as exc:  # e.g. no free line for the seat leg: try REFER instead
                    log.warning("bridged transfer failed: %s", exc)
                    blind = True
            if blind and self.call.is_up:
                result = await self._blind(transfer, self.seats)
            if result is not None:
                self.transfer_result = result
                answered = result.seat_answered
        else:
            log.warning("transfer requested but no seat is configured")
        await self.locked(self.loop.seat_answered if answered else self.loop.seat_failed)

    async def _hunt(self, transfer: act.Transfer, seats: SeatSource) -> TransferResult | None:
        """Ring the seats in turn with hold audio; the legs are kept even when the hunt fails."""
        hold = HoldAudio(self.call, self._hold_line if self.hold_text else None)
        legs: list[SeatLeg] = []
        try:
            result, legs = await hunt(self.call, seats, transfer.summary, hold=hold, legs=legs)
        finally:
            self.seat_legs += legs
        return result

    async def _blind(self, transfer: act.Transfer, seats: SeatSource) -> TransferResult | None:
        """REFER the callee to the next seat (the seat leg is the callee's: only its answer is known)."""
        offer = await asyncio.to_thread(seats.next_seat, [])
        if offer is None:
            return None
        leg = SeatLeg(offer, len(self.seat_legs) + 1, time.time())
        self.seat_legs.append(leg)
        try:
            result = await self.call.transfer_blind(offer.uri, summary=transfer.summary)
        except TelephonyError as exc:
            log.warning("blind transfer failed: %s", exc)
            leg.end_at, leg.reason = time.time(), str(exc)[:200]
            return None
        leg.answered, leg.sip_code, leg.reason = result.seat_answered, result.sip_code, result.reason[:200]
        leg.answer_at = result.at if result.seat_answered else None
        leg.end_at = None if result.seat_answered else result.at
        return result

    def _hold_line(self) -> tuple[bytes, int]:
        """The hold line through the flow's speech output (prompt cache, recordings, TTS)."""
        assert self.loop is not None and self.hold_text is not None
        audio = self.loop.speech.render(act.Say(self.hold_text))
        return audio.pcm, audio.sample_rate


def attach_latencies(result: CallResult, latencies_ms: list[float]) -> None:
    """Put each measured reply latency on its spoken turn of the trace (in order)."""
    spoken = [turn for turn in result.trace if turn.kind == "utterance"]
    for turn, latency in zip(spoken, latencies_ms, strict=False):
        turn.latency_ms = round(latency, 1)


async def converse(call: Call, loop: VoiceLoop, control: SipCallControl, watch: Any = None) -> Ended:
    """Drive ``loop`` with the call's audio until the conversation and the call are over.

    ``watch`` (a :class:`waihu.cpa.voicemail.MachineWatch`) hears the callee's frames too; when it
    finds an answering machine the conversation stops and the watch ends the call its own way.
    """
    silence = bytes(loop.frame_bytes)
    ended: Ended | None = None
    await control.locked(loop.start)
    while not loop.finished and ended is None:
        try:
            frame = await asyncio.wait_for(call.frames.get(), FRAME_WAIT_S)
        except TimeoutError:
            frame = silence
        while not call.events.empty() and ended is None:
            event = call.events.get_nowait()
            if isinstance(event, DtmfReceived):
                await control.locked(loop.dtmf, event.digit)
            elif isinstance(event, Ended):
                ended = event
        if ended is not None:
            break
        if watch is not None:
            if watch.machine:
                ended = await watch.finish(call)
                break
            watch.feed(frame)
        robot = await control.locked(loop.step, frame)
        if loop.robot_speaking or robot != silence:
            call.play(robot, loop.sample_rate)
    if ended is None:
        # The robot hung up or the seat took the call: wait for the call itself to end.
        deadline = time.monotonic() + (3600 if control.transfer_result else END_WAIT_S)
        while ended is None and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(call.events.get(), max(0.1, deadline - time.monotonic()))
                if isinstance(event, Ended):
                    ended = event
    if ended is not None and not loop.finished:
        await control.locked(loop.callee_hung_up)
    if ended is None:
        ended = await call.hangup()
    return ended


def record_for(outcome: DialOutcome, target: str, *, announcement: Any = None) -> CallRecord:
    """A call record with the SIP part of a dial outcome filled in.

    ``announcement`` (a :class:`waihu.cpa.announcements.Decision`): the carrier's early media decided
    the outcome (its class replaces the SIP code's; the SIP code is kept).
    """
    sip_outcome = str(getattr(outcome.outcome, "value", outcome.outcome))
    return CallRecord(
        target=target,
        outcome=announcement.outcome if announcement else sip_outcome,
        carrier_announcement=announcement.text if announcement else None,
        sip_code=outcome.sip_code,
        sip_reason=outcome.reason or "",
        started_at=utc_from_epoch(outcome.started_at),
        ring_at=utc_from_epoch(outcome.ring_at),
        answer_at=utc_from_epoch(outcome.answer_at),
        end_at=utc_from_epoch(outcome.end_at),
    )


async def talk_on_call(
    call: Call,
    record: CallRecord,
    *,
    spec: CallSpec,
    parts: SpeechParts,
    seat_uri: str | None,
    transfer_mode: str = "bridged",
    voicemail: Any = None,
    seats: SeatSource | None = None,
) -> CallRecord:
    """Run the conversation on an answered call and fill ``record`` (conversation, hang-up, lines...).

    ``voicemail`` (a :class:`waihu.cpa.voicemail.VoicemailPolicy`): watch for an answering machine;
    if one answered, the outcome is ``voicemail`` and the policy's action is carried out.
    ``seats``: where a transfer finds its seats (the worker's database); without it, ``seat_uri`` alone.
    """
    settings = spec.flow.transfer
    if seats is None and seat_uri:
        seats = FixedSeat(seat_uri, ring_s=settings.seat_ring_s)
    control = SipCallControl(
        call,
        seats=seats,
        transfer_mode=transfer_mode,
        hold_text=hold_prompt(settings.hold_prompt, spec.flow.flow.language),
    )
    watch = None
    if voicemail is not None:
        from waihu.cpa.voicemail import machine_watch

        watch = machine_watch(voicemail, parts.recognizer, parts.synthesizer)
    built = build_call(
        spec,
        parts,
        control=control,
        on_transcript=lambda who, text: record.lines.append((built.loop.time_s, who, text)),
        runner=ThreadRunner(SPEECH_POOL),
    )
    loop, conversation = built.loop, built.conversation
    control.loop = loop
    ended: Ended | None = None
    try:
        ended = await converse(call, loop, control, watch)
    except BaseException:
        if call.is_up:  # never leave a callee on a silent line
            await call.hangup()
        raise
    finally:
        if watch is not None:
            await watch.close()
        if control.tasks:  # a transfer still winding down (the callee left while a seat rang)
            await asyncio.wait(set(control.tasks), timeout=END_WAIT_S)
        if seats is not None and control.seat_legs:
            await _record_seat_legs(seats, control.seat_legs, ended)
    if watch is not None and watch.machine:
        record.outcome = "voicemail"
        record.voicemail = watch.summary()
    record.conversation = conversation.result() if conversation.finished else None
    if record.conversation is not None:
        attach_latencies(record.conversation, [timing.latency_ms for timing in loop.timings])
    record.end_at = utc_from_epoch(ended.at)
    record.hangup_by = str(getattr(ended.by, "value", ended.by))
    record.recording_path = ended.recording_path
    record.latencies_ms = [timing.latency_ms for timing in loop.timings]
    record.events = [{"t": round(e.time_s, 2), "kind": e.kind, "detail": e.detail} for e in loop.events]
    if control.transfer_result is not None:
        result = control.transfer_result
        record.transfer = {
            "kind": result.kind,
            "seat_answered": result.seat_answered,
            "sip_code": result.sip_code,
        }
    if control.seat_legs:
        record.transfer = (record.transfer or {}) | {"seats": [leg.to_dict() for leg in control.seat_legs]}
    return record


async def _record_seat_legs(seats: SeatSource, legs: list[SeatLeg], ended: Ended | None) -> None:
    """The call is over: the seat that talked gets its end and who hung up; the source records all."""
    for leg in legs:
        if leg.answered and leg.end_at is None:
            leg.end_at = ended.at if ended is not None else time.time()
            leg.hangup_by = str(getattr(ended.by, "value", ended.by)) if ended is not None else None
    try:
        await asyncio.to_thread(seats.finish, legs)
    except Exception:  # the call's own result must still be saved
        log.exception("recording the transfer legs failed")
