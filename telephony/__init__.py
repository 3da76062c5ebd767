"""waihu telephony: the only package that imports pjsua2.

A :class:`SipEngine` runs one pjsua2 user agent on a private thread and exposes an asyncio API:
``dial()`` returns a :class:`DialOutcome`; an answered call is a :class:`Call` with callee frames
(20 ms, 8 kHz, 16-bit mono), ``play()``/``stop_playback()``, DTMF, blind and bridged transfer, and
a stereo recording. At most 4 calls per process (compiled into pjsua2): scale with processes.
pjsua2 itself is imported lazily, when the engine starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telephony.config import MAX_CALLS_PER_PROCESS, Registration, SipConfig
from telephony.early import EarlyMedia
from telephony.errors import EngineNotRunning, TelephonyError, TooManyCalls
from telephony.events import (
    CallAnswered,
    CallEvent,
    DtmfReceived,
    Ended,
    PlaybackDrained,
    RemoteHangup,
    TransferResult,
)
from telephony.outcome import CallOutcome, DialOutcome, HangupBy, classify
from telephony.privacy import mask_number, mask_uri
from telephony.summary import SUMMARY_HEADER, decode_summary, encode_summary

if TYPE_CHECKING:
    from telephony.call import Call
    from telephony.engine import SipEngine

__all__ = [
    "MAX_CALLS_PER_PROCESS",
    "SUMMARY_HEADER",
    "Call",
    "CallAnswered",
    "CallEvent",
    "CallOutcome",
    "DialOutcome",
    "DtmfReceived",
    "EarlyMedia",
    "Ended",
    "EngineNotRunning",
    "HangupBy",
    "PlaybackDrained",
    "Registration",
    "RemoteHangup",
    "SipConfig",
    "SipEngine",
    "TelephonyError",
    "TooManyCalls",
    "TransferResult",
    "classify",
    "decode_summary",
    "encode_summary",
    "mask_number",
    "mask_uri",
]


def __getattr__(name: str) -> Any:
    if name == "SipEngine":
        from telephony.engine import SipEngine

        return SipEngine
    if name == "Call":
        from telephony.call import Call

        return Call
    raise AttributeError(name)
