"""Dial with an ear on the early media: hang up as soon as a carrier announcement is recognised.

:func:`dial_listening` wraps :meth:`telephony.SipEngine.dial` with an
:class:`~telephony.early.EarlyMedia` tap and an :class:`~waihu.cpa.announcements.AnnouncementDetector`
run in a worker thread (speech recognition must never stall the event loop). When the detector is
sure, the ringing is stopped (CANCEL); when the carrier fails the call first (480/486/503 after its
announcement), the speech heard so far is still transcribed before the outcome is chosen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephony import CallOutcome, DialOutcome, EarlyMedia
from waihu.cpa.announcements import AnnouncementDetector, Decision, Recognizer

log = logging.getLogger(__name__)

#: After the call failed, at most this long to transcribe the announcement's last words (two decodes
#: of a few seconds of speech; on a busy 2-core host each can take seconds).
FINISH_TIMEOUT_S = 12.0


@dataclass
class ListenedDial:
    """A dial outcome with what its early media said.

    ``outcome``: the service's outcome string (an announcement's class wins over the SIP code's);
    ``decision_s``: wall-clock seconds from the first early-media frame to the decision.
    """

    dial: DialOutcome
    decision: Decision | None
    outcome: str
    early_media_s: float
    ringback_heard: bool
    decision_s: float | None = None
    #: Every transcript of the early media, in order (for logs and tests).
    transcripts: list[str] = field(default_factory=list)

    @property
    def carrier_announcement(self) -> str | None:
        """What the carrier said (or the tone's name), when that decided the outcome."""
        return self.decision.text if self.decision is not None else None


async def _listen(early: EarlyMedia, detector: AnnouncementDetector, decided: list[float]) -> None:
    """Feed early frames to the detector in batches; stop the ringing once it decides."""
    while True:
        frame = await early.frames.get()
        batch = [frame]
        while not early.frames.empty():
            batch.append(early.frames.get_nowait())
        over = b"" in batch
        frames = [f for f in batch if f]

        def feed(chunk: list[bytes] = frames) -> Decision | None:
            for f in chunk:
                if detector.feed(f) is not None:
                    return detector.decision
            return None

        decision = await asyncio.to_thread(feed) if frames else None
        if decision is None and over:
            decision = await asyncio.to_thread(detector.finish)
        if decision is not None:
            decided.append(time.time())
            log.info(
                "carrier announcement: %s (%r) after %.1f s",
                decision.outcome,
                decision.text,
                decision.audio_s,
            )
            early.stop(f"{decision.outcome}: {decision.text}")
            return
        if over:
            return


async def dial_listening(
    engine: Any,
    target: str,
    *,
    recognizer: Recognizer | None,
    ring_timeout_s: float = 30.0,
    detector_factory: Callable[[Recognizer], AnnouncementDetector] = AnnouncementDetector,
    **dial_kwargs: Any,
) -> ListenedDial:
    """Dial ``target`` on ``engine`` listening to early media (extra keyword arguments go to ``dial``).

    Without a ``recognizer`` it is a plain dial (the outcome comes from the SIP code alone).
    """
    if recognizer is None:
        plain: DialOutcome = await engine.dial(target, ring_timeout_s=ring_timeout_s, **dial_kwargs)
        return ListenedDial(plain, None, str(plain.outcome.value), 0.0, False)
    early = EarlyMedia()
    detector = detector_factory(recognizer)
    decided: list[float] = []
    listener = asyncio.create_task(_listen(early, detector, decided))
    try:
        result: DialOutcome = await engine.dial(
            target, ring_timeout_s=ring_timeout_s, early_media=early, **dial_kwargs
        )
    except BaseException:
        listener.cancel()
        raise
    if result.outcome is CallOutcome.ANSWERED:
        listener.cancel()  # early media is over; a late transcript would not change "answered"
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        return ListenedDial(result, None, "answered", detector.audio_s, detector.ringback_heard)
    try:
        await asyncio.wait_for(listener, FINISH_TIMEOUT_S)
    except TimeoutError:
        log.warning("early media of %s: transcription did not finish in time", target)
    decision = detector.decision
    outcome = decision.outcome if decision is not None else str(result.outcome.value)
    started = early.first_frame_at
    decision_s = decided[0] - started if decided and started is not None else None
    return ListenedDial(
        result, decision, outcome, detector.audio_s, detector.ringback_heard, decision_s, detector.transcripts
    )
