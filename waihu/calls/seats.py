"""A worker's seats for one call: the campaign tenant's seat group in the database.

:class:`DatabaseSeats` is the :class:`~waihu.voice.seat_transfer.SeatSource` of campaign calls: it claims
the next free seat of the group (:func:`waihu.service.seats.claim_seat`, race-free across workers), frees
a seat as soon as its leg is over, queues the ``seat.offered`` webhook when a seat's phone rings, and at
the end of the call writes the ``transfer`` rows and the attempt's transfer summary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from waihu.call_record import iso, utc_from_epoch
from waihu.service.models import Attempt, Campaign, Contact, Transfer
from waihu.service.seats import Strategy, claim_seat, release_seat
from waihu.service.webhooks import enqueue_event
from waihu.voice.seat_transfer import SeatLeg, SeatOffer

log = logging.getLogger(__name__)


def seat_group(session: Session, campaign_id: int, flow_group: str) -> str:
    """The campaign's own seat group when it names one, else the flow's ``transfer.skill_group``."""
    campaign = session.get(Campaign, campaign_id)
    return (campaign.seat_group if campaign is not None else None) or flow_group


@dataclass
class DatabaseSeats:
    """Seats of ``tenant``'s ``group`` for the call of ``attempt_id`` (see the module's docstring).

    ``fallback_uri`` (the worker's ``--seat``) is rung once when the group has no seat registered.
    """

    factory: sessionmaker[Session]
    tenant: str
    group: str
    attempt_id: str
    campaign_id: int
    strategy: Strategy = "round_robin"
    ring_s: float = 15.0
    max_seats: int = 3
    fallback_uri: str | None = None
    _claimed: set[int] = field(default_factory=set)

    def next_seat(self, tried: list[SeatLeg]) -> SeatOffer | None:
        """Claim the best free seat not rung yet for this call."""
        exclude = {leg.offer.seat_id for leg in tried if leg.offer.seat_id is not None}
        with self.factory() as session:
            seat = claim_seat(
                session, self.tenant, self.group, self.attempt_id, strategy=self.strategy, exclude=exclude
            )
        if seat is not None:
            self._claimed.add(seat.id)
            return SeatOffer(seat.uri, seat.id, seat.name)
        if self.fallback_uri and not tried and not self._claimed:
            return SeatOffer(self.fallback_uri)
        log.info("attempt %s: no free seat in group %r", self.attempt_id, self.group)
        return None

    def ringing(self, leg: SeatLeg, summary: Any) -> None:
        """Queue ``seat.offered`` (signed and delivered by the webhook sender) for the screen pop."""
        with self.factory() as session:
            campaign = session.get(Campaign, self.campaign_id)
            attempt = session.get(Attempt, self.attempt_id)
            if campaign is None or attempt is None:
                return
            contact = session.get(Contact, attempt.contact_id)
            data = {
                "attempt_id": attempt.id,
                "attempt_number": attempt.number,
                "campaign_id": campaign.id,
                "contact_id": attempt.contact_id,
                "reference_id": contact.reference_id if contact is not None else None,
                "phone": attempt.phone,
                "seat": {"id": leg.offer.seat_id, "uri": leg.offer.uri, "name": leg.offer.name},
                "position": leg.position,
                "offered_at": iso(utc_from_epoch(leg.offered_at)),
                "ring_at": iso(utc_from_epoch(leg.ring_at or leg.answer_at)),
                "summary": _plain(summary),
            }
            if enqueue_event(session, campaign, "seat.offered", data) is not None:
                session.commit()

    def leg_over(self, leg: SeatLeg) -> None:
        """The seat did not take the call: free it at once for other calls."""
        self._release(leg, leg.end_at)

    def finish(self, legs: list[SeatLeg]) -> None:
        """Write one ``transfer`` row per leg and the attempt's summary; free the seat that talked."""
        for leg in legs:
            self._release(leg, leg.end_at)
        taken = next((leg for leg in legs if leg.answered), None)
        with self.factory() as session:
            for leg in legs:
                session.add(
                    Transfer(
                        attempt_id=self.attempt_id,
                        seat_id=leg.offer.seat_id,
                        seat_uri=leg.offer.uri,
                        position=leg.position,
                        offered_at=utc_from_epoch(leg.offered_at),
                        ring_at=utc_from_epoch(leg.ring_at),
                        answer_at=utc_from_epoch(leg.answer_at),
                        end_at=utc_from_epoch(leg.end_at),
                        answered=leg.answered,
                        sip_code=leg.sip_code,
                        reason=leg.reason,
                        ring_ms=leg.ring_ms,
                        talk_s=leg.talk_s,
                        hangup_by=leg.hangup_by,
                    )
                )
            last = taken or legs[-1]
            session.execute(
                update(Attempt)
                .where(Attempt.id == self.attempt_id)
                .values(
                    transfer_seat_id=last.offer.seat_id,
                    transfer_seat_uri=last.offer.uri,
                    transfer_seats_tried=len(legs),
                    transfer_ring_ms=sum(leg.ring_ms or 0 for leg in legs),
                    transfer_answered=taken is not None,
                    transfer_talk_s=taken.talk_s if taken is not None else None,
                    transfer_hangup_by=taken.hangup_by if taken is not None else None,
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def _release(self, leg: SeatLeg, at: float | None) -> None:
        seat_id = leg.offer.seat_id
        if seat_id is None or seat_id not in self._claimed:
            return
        with self.factory() as session:
            release_seat(session, seat_id, self.attempt_id, utc_from_epoch(at))
        self._claimed.discard(seat_id)


def _plain(summary: Any) -> Any:
    """The transfer summary as JSON data (a dataclass or pydantic model or dict)."""
    import dataclasses

    if dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        return dataclasses.asdict(summary)
    if hasattr(summary, "model_dump"):
        return summary.model_dump()
    return summary
