"""Voicemail on a live call: watch the first seconds for a machine, then hang up or leave a message.

:class:`MachineWatch` gets a copy of the callee's frames while the conversation runs (the robot
does not wait: a person hears its greeting at once) and runs an
:class:`~waihu.cpa.amd.AnsweringMachineDetector` in a worker thread. When it says ``machine``, the
conversation stops and :meth:`MachineWatch.finish` carries out the campaign's action: ``hangup``, or
``message``: wait for the beep (or the end of the greeting), say the message, hang up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from telephony import Ended
from telephony.call import Call
from waihu.cpa.amd import MACHINE, AmdDecision, AnsweringMachineDetector
from waihu.cpa.tones import ToneTracker

log = logging.getLogger(__name__)

VOICEMAIL_ACTIONS = ("hangup", "message")
#: After a machine is detected, wait this long at most for its beep before speaking the message.
BEEP_WAIT_S = 6.0
#: Without a beep, the greeting is over after this much quiet.
QUIET_END_S = 1.0
QUIET_RMS = 300.0


@dataclass(frozen=True)
class VoicemailPolicy:
    """A campaign's answer to a machine: ``action`` hangup or message, the ``message`` text."""

    action: str = "hangup"
    message: str | None = None
    language: str = "zh"

    def __post_init__(self) -> None:
        if self.action not in VOICEMAIL_ACTIONS:
            raise ValueError(f"voicemail action must be one of {VOICEMAIL_ACTIONS}, not {self.action!r}")


class MachineWatch:
    """Feeds a detector with the call's first seconds in a worker thread, off the media path."""

    def __init__(self, detector: AnsweringMachineDetector, policy: VoicemailPolicy, synthesizer: Any) -> None:
        self.detector = detector
        self.policy = policy
        self.synthesizer = synthesizer
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.decision: AmdDecision | None = None
        self.message_left = False
        self._task = asyncio.ensure_future(self._run())
        # The message is synthesised while the call starts, not after the beep (seconds on a busy host).
        self._message: asyncio.Future[Any] | None = None
        if policy.action == "message" and policy.message:
            self._message = asyncio.ensure_future(
                asyncio.to_thread(synthesizer.synthesize, policy.message, language=policy.language)
            )

    @property
    def machine(self) -> bool:
        """The detector decided: an answering machine."""
        return self.decision is not None and self.decision.kind == MACHINE

    def feed(self, frame: bytes) -> None:
        """A callee frame (ignored once decided)."""
        if self.decision is None:
            self.frames.put_nowait(frame)

    async def _run(self) -> None:
        while self.decision is None:
            batch = [await self.frames.get()]
            while not self.frames.empty():
                batch.append(self.frames.get_nowait())

            def feed(chunk: list[bytes] = batch) -> AmdDecision | None:
                for frame in chunk:
                    if self.detector.feed(frame) is not None:
                        return self.detector.decision
                return None

            decision = await asyncio.to_thread(feed)
            if decision is not None:
                self.decision = decision
                log.info(
                    "answering machine detection: %s (%s) at %.1f s",
                    decision.kind,
                    decision.reason,
                    decision.at_s,
                )

    def summary(self) -> dict[str, Any]:
        """For the call report: how the machine was recognised and what was done."""
        d = self.decision
        return {
            "reason": d.reason if d else None,
            "at_s": round(d.at_s, 2) if d else None,
            "text": d.text if d else "",
            "action": self.policy.action,
            "message_left": self.message_left,
        }

    async def close(self) -> None:
        """Stop watching (the call is over or the conversation moved on)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def finish(self, call: Call) -> Ended:
        """A machine answered: carry out the policy and return the end of the call."""
        await self.close()
        call.stop_playback()
        if self._message is not None and call.is_up:
            if self.decision is None or self.decision.beep_at_s is None:
                await _wait_for_beep(call, self.detector.tones)
            assert self._message is not None
            audio = await self._message
            call.play(audio.pcm, audio.sample_rate)
            await call.wait_played()
            self.message_left = call.is_up
        return await call.hangup()


async def _wait_for_beep(call: Call, tones: ToneTracker) -> None:
    """Listen until a beep ends, the greeting falls quiet, or :data:`BEEP_WAIT_S` passes."""
    import numpy as np

    loop = asyncio.get_running_loop()
    deadline = loop.time() + BEEP_WAIT_S
    quiet = 0.0
    while call.is_up and loop.time() < deadline:
        try:
            frame = await asyncio.wait_for(call.frames.get(), 0.2)
        except TimeoutError:
            continue
        burst = tones.feed(frame)
        if burst is not None and 0.2 <= burst.length_s <= 1.6 and burst.purity >= 0.8:
            return
        x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        quiet = quiet + 0.02 if float(np.sqrt(np.mean(x * x))) < QUIET_RMS else 0.0
        if quiet >= QUIET_END_S:
            return


def machine_watch(policy: VoicemailPolicy, recognizer: Any, synthesizer: Any) -> MachineWatch:
    """A watch with a fresh detector on ``recognizer`` (the call's own) for ``policy``."""
    return MachineWatch(AnsweringMachineDetector(recognizer), policy, synthesizer)
