"""Handing a call to a human seat: ring seats one after another, with hold audio, and keep the record.

A :class:`SeatSource` says which seat to ring next (the worker's picks a free seat of the campaign's group
from the database and marks it busy; :class:`FixedSeat` is one configured URI). :func:`hunt` rings each
seat for ``source.ring_s`` seconds, at most ``source.max_seats`` of them, while the callee hears
:class:`~waihu.voice.hold_audio.HoldAudio`; the first that answers is bridged. Every seat leg becomes a
:class:`SeatLeg` (how long it rang, whether it answered, later its talk time and who hung up), which the
source records when the call is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from telephony import TelephonyError, TransferResult, mask_uri
from waihu.voice.hold_audio import HoldAudio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeatOffer:
    """A seat picked for one leg (``seat_id`` None: not a registered seat, e.g. ``--seat``)."""

    uri: str
    seat_id: int | None = None
    name: str = ""


@dataclass
class SeatLeg:
    """One seat rung for one call: the transfer record's row."""

    offer: SeatOffer
    position: int
    offered_at: float
    ring_at: float | None = None
    answer_at: float | None = None
    end_at: float | None = None
    answered: bool = False
    sip_code: int | None = None
    reason: str = ""
    hangup_by: str | None = None

    @property
    def ring_ms(self) -> int | None:
        """From the INVITE to the answer (or to the give-up); None while ringing."""
        end = self.answer_at or self.end_at
        return None if end is None else max(0, round((end - self.offered_at) * 1000))

    @property
    def talk_s(self) -> float | None:
        """Time the callee spent with the seat (answered legs, once the call is over)."""
        if self.answer_at is None or self.end_at is None:
            return None
        return round(max(0.0, self.end_at - self.answer_at), 2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for ``waihu dial``'s report)."""
        return {
            "seat_id": self.offer.seat_id,
            "seat_uri": self.offer.uri,
            "position": self.position,
            "answered": self.answered,
            "ring_ms": self.ring_ms,
            "talk_s": self.talk_s,
            "sip_code": self.sip_code,
            "reason": self.reason,
            "hangup_by": self.hangup_by,
        }


class SeatSource(Protocol):
    """Where seats come from, and where their legs are recorded. Methods block (run in a thread)."""

    ring_s: float
    max_seats: int

    def next_seat(self, tried: list[SeatLeg]) -> SeatOffer | None:
        """The next seat to ring (claimed for this call), or None when none is free."""

    def ringing(self, leg: SeatLeg, summary: Any) -> None:
        """The seat's phone rings: the screen pop (``seat.offered``)."""

    def leg_over(self, leg: SeatLeg) -> None:
        """A seat that did not take the call is free again."""

    def finish(self, legs: list[SeatLeg]) -> None:
        """The call is over: record every leg, free the seat that talked."""


@dataclass
class FixedSeat:
    """One configured seat URI (``waihu dial --seat``, a worker's ``--seat`` fallback); no database."""

    uri: str
    ring_s: float = 30.0
    max_seats: int = 1

    def next_seat(self, tried: list[SeatLeg]) -> SeatOffer | None:
        """The URI, once."""
        return None if tried else SeatOffer(self.uri)

    def ringing(self, leg: SeatLeg, summary: Any) -> None:
        """Nothing to tell."""

    def leg_over(self, leg: SeatLeg) -> None:
        """Nothing to free."""

    def finish(self, legs: list[SeatLeg]) -> None:
        """Nothing to record (the report carries the legs)."""


async def hunt(
    call: Any,
    source: SeatSource,
    summary: Any,
    *,
    hold: HoldAudio | None,
    legs: list[SeatLeg] | None = None,
) -> tuple[TransferResult | None, list[SeatLeg]]:
    """Ring seats one after another until one answers (bridged) or ``source.max_seats`` did not.

    Returns the last :class:`TransferResult` (None: no seat was free, or the call ended first) and the legs
    (also appended to ``legs`` as they start, so a caller keeps them when the hunt raises).
    The hold audio plays from the start and stops when a seat answers or the hunt gives up.
    """
    legs = [] if legs is None else legs
    result: TransferResult | None = None
    aio = asyncio.get_running_loop()
    pops: set[asyncio.Task[None]] = set()  # the screen pops queued as seats ring
    try:
        while len(legs) < source.max_seats and call.is_up:
            if hold is not None:
                hold.start()  # no-op while playing; again after a seat that answered but failed to bridge
            offer = await asyncio.to_thread(source.next_seat, list(legs))
            if offer is None:
                break
            leg = SeatLeg(offer, len(legs) + 1, time.time())
            legs.append(leg)

            def progress(kind: str, at: float, leg: SeatLeg = leg) -> None:
                if kind == "ringing":
                    leg.ring_at = at
                    pops.add(aio.create_task(asyncio.to_thread(source.ringing, leg, summary)))
                elif kind == "answered":
                    leg.answer_at = at
                    if hold is not None:
                        hold.stop()  # before the bridge: the seat never hears the music

            try:
                result = await _ring_while_up(call, offer.uri, summary, source.ring_s, progress)
            except TelephonyError as exc:  # e.g. no free line for the seat leg
                leg.end_at, leg.reason = time.time(), str(exc)[:200]
                await asyncio.to_thread(source.leg_over, leg)
                raise
            if result is None:  # the callee hung up while the seat rang: stop ringing it
                leg.end_at, leg.reason = time.time(), "callee hung up while the seat rang"
                await asyncio.to_thread(source.leg_over, leg)
                break
            leg.offered_at = result.offered_at or leg.offered_at
            leg.sip_code, leg.reason = result.sip_code, result.reason[:200]
            if result.success:
                leg.answered = True
                leg.answer_at = result.answer_at or leg.answer_at or result.at
                if leg.ring_at is None:  # answered without a 180: the screen pop still comes
                    await asyncio.to_thread(source.ringing, leg, summary)
                break
            leg.end_at = result.at
            log.info(
                "seat %s (%d of ≤ %d) did not take the call: %s %s",
                mask_uri(offer.uri),
                leg.position,
                source.max_seats,
                result.sip_code,
                result.reason,
            )
            await asyncio.to_thread(source.leg_over, leg)
    finally:
        if hold is not None:
            hold.stop()
        for done in await asyncio.gather(*pops, return_exceptions=True):
            if isinstance(done, Exception):
                log.error("announcing a ringing seat failed: %s", done)
    return result, legs


async def _ring_while_up(
    call: Any, uri: str, summary: Any, ring_s: float, progress: Any
) -> TransferResult | None:
    """The bridged transfer to ``uri``, abandoned (its INVITE cancelled) if the callee hangs up first."""
    bridged = asyncio.ensure_future(
        call.transfer_bridged(uri, summary=summary, ring_timeout_s=ring_s, on_progress=progress)
    )
    gone = asyncio.ensure_future(call.wait_ended())
    try:
        await asyncio.wait({bridged, gone}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # the worker is stopping: the seat's INVITE goes with it
        bridged.cancel()
        raise
    finally:
        gone.cancel()
    if bridged.done():
        return bridged.result()
    bridged.cancel()  # the engine CANCELs the seat's INVITE
    with contextlib.suppress(asyncio.CancelledError):
        await bridged
    return None
