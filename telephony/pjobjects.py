"""pjsua2 subclasses. Everything here lives and dies on the pjsua2 thread (see :mod:`telephony.pjthread`).

Callbacks do as little as possible: they translate pjsua2 state into plain tuples and hand them to
the leg's hooks, which post them to asyncio. Media callbacks run on pjmedia's clock thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from telephony.pcm import FRAME_BYTES, SAMPLE_RATE, SILENCE, PlaybackQueue
from telephony.privacy import mask_uri
from telephony.recording import StereoRecorder

log = logging.getLogger(__name__)

#: What a callee's REFER or INVITE/Replaces gets (403 Forbidden).
REFUSED_TRANSFER_CODE = 403
DTMF_METHODS = {pj.PJSUA_DTMF_METHOD_RFC2833: "rfc2833", pj.PJSUA_DTMF_METHOD_SIP_INFO: "info"}


@dataclass
class LegHooks:
    """Plain-Python plumbing of one call leg, shared with asyncio (no pjsua2 objects inside).

    ``post(kind, *args)`` must be thread-safe (it wraps ``loop.call_soon_threadsafe``).
    """

    post: Callable[..., None]
    on_frame: Callable[[bytes], None]
    playback: PlaybackQueue = field(default_factory=PlaybackQueue)
    recorder: StereoRecorder | None = None
    #: Bridged seat leg: frames received from the seat go to this recorder's right channel.
    mirror: StereoRecorder | None = None
    #: Robot audio goes out (False while the leg is bridged to another one).
    send_robot_audio: bool = True
    #: Hand early media (183 with SDP) to ``on_frame`` before the answer (see :mod:`telephony.early`).
    early_media: bool = False
    #: Frames now are early media: not recorded (only the answered call is).
    in_early_media: bool = False


class FramePort(pj.AudioMediaPort):
    """An 8 kHz conference port: callee frames in, robot frames out (the bridge converts rates)."""

    def __init__(self, hooks: LegHooks) -> None:
        super().__init__()
        self.hooks: LegHooks | None = hooks

    def open(self, name: str) -> None:
        """Create the pjmedia port at 8 kHz mono 16-bit, 20 ms."""
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, SAMPLE_RATE, 1, 20000, 16)
        self.createPort(name, fmt)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        """Callee audio, one 20 ms frame per clock tick."""
        hooks = self.hooks
        if hooks is None:
            return
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            pcm = bytes(frame.buf)[:FRAME_BYTES]
            if len(pcm) < FRAME_BYTES:
                pcm += bytes(FRAME_BYTES - len(pcm))
        else:
            pcm = SILENCE
        if hooks.mirror is not None:
            hooks.mirror.add_right(pcm)
        if hooks.recorder is not None and not hooks.in_early_media:
            hooks.recorder.add_left(pcm)
        hooks.on_frame(pcm)

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        """Robot audio: the next queued frame, or silence."""
        hooks = self.hooks
        pcm = None
        if hooks is not None and hooks.send_robot_audio:
            pcm, drained = hooks.playback.pop()
            if drained:
                hooks.post("drained", time.time())
        pcm = pcm or SILENCE
        if hooks is not None and hooks.recorder is not None and hooks.send_robot_audio:
            hooks.recorder.add_right(pcm)
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(pcm)
        frame.size = len(pcm)


class Leg(pj.Call):
    """One outbound (or rejected inbound) call; reports state to its hooks."""

    def __init__(self, acc: pj.Account, hooks: LegHooks | None, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(acc, call_id)
        self.hooks = hooks
        self.port: FramePort | None = None
        self.audio: pj.AudioMedia | None = None
        self.confirmed = False
        self.disconnected = False
        self.cancelled_by_us = False
        self.got_response = False
        self.peer: Leg | None = None  # bridged partner

    # --- signalling -----------------------------------------------------------------------------
    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        """Track EARLY/CONFIRMED/DISCONNECTED and post them."""
        ci = self.getInfo()
        now = time.time()
        state = ci.state
        if state == pj.PJSIP_INV_STATE_EARLY:
            self.got_response = True
            if self.hooks:
                self.hooks.post("ringing", ci.lastStatusCode, now)
        elif state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.confirmed = True
            self.got_response = True
            if self.hooks:
                self.hooks.in_early_media = False
            self.connect_media()
            if self.hooks:
                if self.hooks.recorder is not None:
                    self.hooks.recorder.start()
                self.hooks.post("confirmed", now)
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True
            local_error = _local_failure(prm)
            if self.hooks:
                self.hooks.post(
                    "disconnected",
                    ci.lastStatusCode,
                    ci.lastReason,
                    now,
                    local_error and not self.got_response,
                )

    def onCallTsxState(self, prm: pj.OnCallTsxStateParam) -> None:
        """Note that the remote answered something (tells a dead peer from a slow one)."""
        try:
            if prm.e.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG:
                self.got_response = True
        except (AttributeError, pj.Error):  # pragma: no cover - defensive against binding changes
            pass

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        """Media (re)negotiated: reconnect the frame port; early media only when the hooks want it."""
        if self.disconnected:
            return
        if self.confirmed:
            self.connect_media()
        elif self.hooks is not None and self.hooks.early_media:
            self.hooks.in_early_media = True
            self.connect_media(listen_only=True)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        """RFC 2833 or SIP INFO digit from the remote."""
        if self.hooks:
            method = DTMF_METHODS.get(prm.method, str(prm.method))
            duration = int(prm.duration)
            duration = duration if duration < 0xFFFF else 0  # 0xFFFFFFFF: unknown (still pressed)
            self.hooks.post("dtmf", prm.digit, method, duration, time.time())

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        """NOTIFY progress of a REFER we sent."""
        prm.cont = True
        if self.hooks:
            self.hooks.post("xfer", int(prm.statusCode), prm.reason, bool(prm.finalNotify), time.time())

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        """Refuse every REFER from the remote: a callee must never make the robot dial (toll fraud).

        The robot starts its own transfers (it sends REFER; it never honours one).
        """
        prm.statusCode = REFUSED_TRANSFER_CODE
        log.warning("refused a transfer request from the remote to %s", mask_uri(str(prm.dstUri)))
        if self.hooks:
            self.hooks.post("refused_refer", time.time())

    def onCallReplaceRequest(self, prm: pj.OnCallReplaceRequestParam) -> None:
        """Refuse INVITE/Replaces: nobody may take over a robot call."""
        prm.statusCode = REFUSED_TRANSFER_CODE
        prm.reason = "Forbidden"
        log.warning("refused an INVITE with Replaces")

    # --- media ----------------------------------------------------------------------------------
    def connect_media(self, *, listen_only: bool = False) -> None:
        """Connect the active audio stream to the frame port (or to the bridged peer).

        ``listen_only`` (early media): callee frames reach the port, nothing is sent back.
        """
        ci = self.getInfo()
        media = ci.media
        for i in range(len(media)):
            mi = media[i]
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.audio = self.getAudioMedia(mi.index)
                break
        else:
            return
        if self.port is None and self.hooks is not None:
            self.port = FramePort(self.hooks)
            self.port.open(f"leg{ci.id}")
        if self.port is not None:
            self.audio.startTransmit(self.port)
            if self.hooks is not None and self.hooks.send_robot_audio and not listen_only:
                self.port.startTransmit(self.audio)
        if self.peer is not None and self.peer.audio is not None:
            self.audio.startTransmit(self.peer.audio)
            self.peer.audio.startTransmit(self.audio)

    def release_media(self) -> None:
        """Detach and drop the port and media handles (pjsua2 thread only)."""
        port, self.port = self.port, None
        if port is not None:
            port.hooks = None
            audio = self.audio
            if audio is not None:
                _quiet(lambda: audio.stopTransmit(port))
                _quiet(lambda: port.stopTransmit(audio))
            del port
        self.audio = None
        self.peer = None
        if self.hooks is not None and self.hooks.recorder is not None:
            self.hooks.recorder.close()


def _local_failure(prm: pj.OnCallStateParam) -> bool:
    """True when the call ended on a local timer or transport error rather than a remote response."""
    try:
        e = prm.e
        if e.type == pj.PJSIP_EVENT_TRANSPORT_ERROR:
            return True
        if e.type == pj.PJSIP_EVENT_TSX_STATE:
            return e.body.tsxState.type in (pj.PJSIP_EVENT_TRANSPORT_ERROR, pj.PJSIP_EVENT_TIMER)
    except (AttributeError, pj.Error):  # pragma: no cover
        return False
    return False


def _quiet(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except pj.Error as e:
        log.debug("ignored pjsua2 error: %s", e.info())


class RobotAccount(pj.Account):
    """An account (one per caller ID); rejects incoming calls: this is an outbound robot."""

    def __init__(
        self, reject: Callable[[int], None], on_reg: Callable[[int, str, int], None] | None = None
    ) -> None:
        super().__init__()
        self._reject: Callable[[int], None] | None = reject
        self._on_reg = on_reg

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        """Hand the call id to the thread, which answers 603 and disposes of it."""
        if self._reject is not None:
            self._reject(prm.callId)

    def onIncomingSubscribe(self, prm: pj.OnIncomingSubscribeParam) -> None:
        """Refuse presence subscriptions: NOTIFYs to a stranger's Contact would be a reflection vector."""
        prm.code = 403
        prm.reason = "Forbidden"
        log.info("refused an incoming SUBSCRIBE")

    def onInstantMessage(self, prm: pj.OnInstantMessageParam) -> None:
        """pjsua answers MESSAGE itself; the robot reads none (nothing is sent back but the 200)."""
        log.info("ignored an incoming MESSAGE")

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        """Report registration results (code, reason, expiration)."""
        log.info("registration: %s %s (expires %s s)", prm.code, prm.reason, prm.expiration)
        if self._on_reg is not None:
            self._on_reg(int(prm.code), str(prm.reason), int(prm.expiration))

    def detach(self) -> None:
        """Break the references to the thread before release."""
        self._reject = None
        self._on_reg = None
