"""The one thread that owns the pjsua2 Endpoint.

pjsua2 kills the process when touched from an unregistered thread or when its objects outlive
``libDestroy``. So: this thread creates the library (threadCnt=0, null audio device), runs every
pjsua2 call as a command from a queue between ``libHandleEvents`` polls, owns every pjsua2 object
(accounts, calls, ports), and releases them all before ``libDestroy``. Other threads only see
plain Python data and ``concurrent.futures.Future`` results.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pjsua2 as pj

from telephony.config import MAX_CALLS_PER_PROCESS, SipConfig
from telephony.errors import TelephonyError
from telephony.pjobjects import Leg, LegHooks, RobotAccount
from telephony.privacy import mask_uri

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ACCOUNTS = 6  # pjsua's PJSUA_MAX_ACC is 8; keep room for its internal local accounts


def _err(e: pj.Error) -> TelephonyError:
    return TelephonyError(f"{e.title}: {e.info()}" if getattr(e, "title", "") else e.info())


def _detached(e: BaseException) -> BaseException:
    """Strip traceback and context before an exception leaves this thread.

    A traceback keeps the frames, hence the pjsua2 objects in their locals, alive: freeing them later
    on the asyncio thread would run pjsua2 destructors there and kill the process.
    """
    e.__traceback__ = None
    e.__context__ = None
    e.__cause__ = None
    return e


def _preset_log_level(level: int) -> None:
    """Apply the log level before ``libCreate`` (which otherwise prints its start-up at level 4+).

    The wheel exports pjlib's ``pj_log_set_level``; opening the already-loaded extension module
    again with ctypes reaches the same library instance.
    """
    try:
        ctypes.CDLL(pj._pjsua2.__file__).pj_log_set_level(int(level))
    except (OSError, AttributeError) as e:  # pragma: no cover - another build of the wheel
        log.debug("cannot preset the pjsip log level: %s", e)


def _tx_option(headers: dict[str, str] | None) -> pj.SipTxOption:
    opt = pj.SipTxOption()
    for name, value in (headers or {}).items():
        h = pj.SipHeader()
        h.hName = name
        h.hValue = value
        opt.headers.append(h)
    return opt


#: An unsolicited call holds its slot this long before its 603. pjsua creates RTP/RTCP sockets for
#: every incoming INVITE that finds a free slot, and pjlib's ioqueue reuses a closed socket's key only
#: after 500 ms: refusing a flood instantly (svwar sends ~200 INVITEs/s) exhausted the 64 keys and
#: aborted the process. Holding the slots makes pjsua answer the rest of a flood 486 itself, with no
#: sockets created (while a flood lasts, the robot's own calls find no free slot: firewall the port).
UNWANTED_HOLD_S = 0.25


class PjThread:
    """Runs pjsua2 on a private thread; :meth:`submit` runs a function there and returns a Future."""

    def __init__(
        self,
        config: SipConfig,
        on_registration: Callable[[int, str, int], None] | None = None,
        on_incoming: Callable[[str], tuple[int, LegHooks]] | None = None,
    ) -> None:
        self.config = config
        self._on_registration = on_registration
        #: Set only when ``config.answer_incoming``: gives a new incoming leg its id and hooks.
        self._on_incoming = on_incoming if config.answer_incoming else None
        #: Incoming legs to answer, with the time.monotonic() at which to send 200 OK.
        self._to_answer: list[tuple[float, Leg]] = []
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stopping = False
        # Only ever touched on the pjsua2 thread:
        self._ep: pj.Endpoint | None = None
        self._accounts: dict[str, RobotAccount] = {}
        self._legs: dict[int, Leg] = {}
        self._graveyard: list[Leg] = []
        #: Incoming call ids waiting to be refused once the current callback has returned.
        self._unwanted: list[tuple[float, Leg]] = []

    # --- public, any thread -----------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> None:
        """Start the thread and wait until the library and transports are up (raises on failure)."""
        self._thread = threading.Thread(target=self._run, name="pjsua2", daemon=True)
        self._thread.start()
        self._ready.result(timeout_s)

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``fn`` on the pjsua2 thread; pjsua2 errors come back as :class:`TelephonyError`."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self._stopping or self._thread is None or not self._thread.is_alive():
            fut.set_exception(TelephonyError("pjsua2 thread is not running"))
            return fut
        self._commands.put((fn, fut))
        return fut

    def stop(self, timeout_s: float = 10.0) -> None:
        """Hang up everything, release all pjsua2 objects, destroy the library, join the thread."""
        if self._thread is None:
            return
        self._stopping = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("pjsua2 thread did not stop within %.0f s", timeout_s)

    # --- commands (pjsua2 thread) ---------------------------------------------------------------
    def make_call(
        self,
        leg_id: int,
        uri: str,
        caller_id: str | None,
        headers: dict[str, str] | None,
        hooks: LegHooks,
    ) -> None:
        """Send the INVITE. On failure the Call object is dropped without ``hangup`` (that would crash)."""
        live = sum(1 for leg in self._legs.values() if not leg.disconnected)
        if live >= MAX_CALLS_PER_PROCESS:
            raise TelephonyError(f"{MAX_CALLS_PER_PROCESS} calls already up in this process")
        acc = self._account(caller_id)
        leg = Leg(acc, hooks)
        op = pj.CallOpParam(True)
        op.txOption = _tx_option(headers)
        try:
            leg.makeCall(uri, op)
        except pj.Error as e:
            leg.hooks = None
            del leg  # never hangup() a Call whose makeCall failed; drop it here, on this thread
            raise _detached(_err(e)) from None
        self._legs[leg_id] = leg
        log.info("leg %d: INVITE %s", leg_id, mask_uri(uri))

    def hangup(self, leg_id: int, *, cancelled: bool = False) -> None:
        """CANCEL (before answer) or BYE (after); no-op if already gone."""
        leg = self._legs.get(leg_id)
        if leg is None or leg.disconnected:
            return
        leg.cancelled_by_us = leg.cancelled_by_us or cancelled
        try:
            leg.hangup(pj.CallOpParam(True))
        except pj.Error as e:
            log.warning("leg %d: hangup failed: %s", leg_id, e.info())

    def send_dtmf(self, leg_id: int, digits: str, method: str, duration_ms: int) -> None:
        """Send DTMF by RFC 2833 or SIP INFO."""
        leg = self._live(leg_id)
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.duration = duration_ms
        prm.method = pj.PJSUA_DTMF_METHOD_SIP_INFO if method == "info" else pj.PJSUA_DTMF_METHOD_RFC2833
        try:
            leg.sendDtmf(prm)
        except pj.Error as e:
            raise _err(e) from None

    def xfer(self, leg_id: int, refer_to: str, headers: dict[str, str] | None) -> None:
        """Send REFER; progress arrives through the leg's ``xfer`` posts."""
        leg = self._live(leg_id)
        op = pj.CallOpParam(True)
        op.txOption = _tx_option(headers)
        try:
            leg.xfer(refer_to, op)
        except pj.Error as e:
            raise _err(e) from None

    def bridge(self, a_id: int, b_id: int) -> None:
        """Connect two answered legs' audio both ways; the robot stops sending to ``a``."""
        a, b = self._live(a_id), self._live(b_id)
        if a.audio is None or b.audio is None:
            raise TelephonyError("both legs need active audio to be bridged")
        if a.hooks is not None:
            a.hooks.send_robot_audio = False
            a.hooks.playback.clear()
            if b.hooks is not None:
                b.hooks.mirror = a.hooks.recorder
        if a.port is not None:
            try:
                a.port.stopTransmit(a.audio)
            except pj.Error as e:
                log.debug("stopTransmit: %s", e.info())
        a.peer, b.peer = b, a
        try:
            a.audio.startTransmit(b.audio)
            b.audio.startTransmit(a.audio)
        except pj.Error as e:
            raise _err(e) from None

    # --- internals --------------------------------------------------------------------------------
    def _live(self, leg_id: int) -> Leg:
        leg = self._legs.get(leg_id)
        if leg is None or leg.disconnected:
            raise TelephonyError(f"call leg {leg_id} is not up")
        return leg

    def _host(self) -> str:
        c = self.config
        if c.registration is not None:
            return c.registration.registrar_uri.split(":", 1)[-1].split(";", 1)[0]
        return f"{c.public_address or c.bind_address}:{c.sip_port}"

    def _id_uri(self, caller_id: str) -> str:
        uri = (
            caller_id
            if caller_id.startswith(("sip:", "sips:", "tel:"))
            else f"sip:{caller_id}@{self._host()}"
        )
        name = self.config.display_name
        return f'"{name}" <{uri}>' if name else uri

    def _account(self, caller_id: str | None) -> RobotAccount:
        key = caller_id or self.config.caller_id
        acc = self._accounts.get(key)
        if acc is not None:
            return acc
        if len(self._accounts) >= MAX_ACCOUNTS:
            raise TelephonyError(f"too many distinct caller IDs in one process (max {MAX_ACCOUNTS})")
        c = self.config
        cfg = pj.AccountConfig()
        cfg.idUri = self._id_uri(key)
        primary = not self._accounts
        if c.registration is not None:
            reg = c.registration
            cred = pj.AuthCredInfo("digest", reg.realm, reg.username, 0, reg.password)
            cfg.sipConfig.authCreds.append(cred)
            if primary:
                cfg.regConfig.registrarUri = reg.registrar_uri
                cfg.regConfig.timeoutSec = reg.timeout_s
                cfg.idUri = reg.aor or f"sip:{reg.username}@{self._host()}"
        cfg.regConfig.registerOnAdd = primary and c.registration is not None
        if c.outbound_proxy:
            cfg.sipConfig.proxies.append(c.outbound_proxy)
        tp = cfg.mediaConfig.transportConfig
        tp.port = c.rtp_port
        tp.portRange = c.rtp_port_range
        tp.boundAddress = c.bind_address
        if c.public_address:
            tp.publicAddress = c.public_address
            # The operator's address wins: without this, pjsua replaces the Contact and Via with the
            # address the registrar saw (received/rport) and registers again.
            cfg.natConfig.contactRewriteUse = 0
            cfg.natConfig.viaRewriteUse = 0
        cfg.mediaConfig.lockCodecEnabled = False
        acc = RobotAccount(self._reject_incoming, self._on_registration if primary else None)
        acc.create(cfg, primary)
        self._accounts[key] = acc
        return acc

    def _reject_incoming(self, call_id: int) -> None:
        """Adopt an unsolicited INVITE's call (pjsua2 answers 500 to one left without a Call object).

        It is refused after ``onIncomingCall`` returns: hanging up inside the callback aborts pjsua2
        when the INVITE has no SDP (delayed offer: ``pjsip_rx_data_free_cloned: Assertion 'rdata'``).
        """
        acc = next(iter(self._accounts.values()))
        live = sum(1 for leg in self._legs.values() if not leg.disconnected)
        if self._on_incoming is not None and live < MAX_CALLS_PER_PROCESS:
            leg = Leg(acc, None, call_id)
            leg_id, hooks = self._on_incoming(str(leg.getInfo().localUri))
            leg.hooks = hooks
            self._legs[leg_id] = leg
            self._to_answer.append((time.monotonic() + self.config.answer_after_s, leg))
            return
        self._unwanted.append((time.monotonic() + UNWANTED_HOLD_S, Leg(acc, None, call_id)))

    def _answer_due(self) -> None:
        """Ring, then answer the incoming legs whose time has come (test peers only)."""
        now = time.monotonic()
        due = [leg for at, leg in self._to_answer if at <= now]
        self._to_answer = [(at, leg) for at, leg in self._to_answer if at > now]
        for leg in due:
            if leg.disconnected:
                continue
            op = pj.CallOpParam(True)
            op.statusCode = 200
            try:
                leg.answer(op)
            except pj.Error as e:
                log.warning("answering an incoming call failed: %s", e.info())

    def _refuse_unwanted(self) -> None:
        """Answer 603 to every adopted incoming call and keep its leg until it is disconnected."""
        now = time.monotonic()
        due = [leg for at, leg in self._unwanted if at <= now]
        self._unwanted = [(at, leg) for at, leg in self._unwanted if at > now]
        for leg in due:
            op = pj.CallOpParam(True)
            op.statusCode = 603
            try:
                leg.hangup(op)
            except pj.Error as e:
                log.warning("rejecting an incoming call failed: %s", e.info())
            self._graveyard.append(leg)
            log.info("rejected an incoming call (outbound robot)")

    def _init(self) -> None:
        c = self.config
        _preset_log_level(c.pj_log_level)
        ep = pj.Endpoint()
        self._ep = ep
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.maxCalls = MAX_CALLS_PER_PROCESS
        cfg.uaConfig.userAgent = c.user_agent
        cfg.medConfig.clockRate = 8000
        cfg.medConfig.sndClockRate = 8000
        cfg.medConfig.channelCount = 1
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        cfg.logConfig.level = c.pj_log_level
        cfg.logConfig.consoleLevel = c.pj_log_level
        cfg.logConfig.msgLogging = c.pj_log_level >= 4
        ep.libInit(cfg)
        ep.audDevManager().setNullDev()
        tcfg = pj.TransportConfig()
        tcfg.port = c.sip_port
        tcfg.boundAddress = c.bind_address
        if c.public_address:
            tcfg.publicAddress = c.public_address
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        if c.enable_tcp:
            ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, tcfg)
        ep.libStart()
        wanted = [x.upper() for x in c.codecs]
        for ci in ep.codecEnum2():
            cid = ci.codecId
            base = cid.rsplit("/", 1)[0].upper()  # "PCMU/8000/1" -> "PCMU/8000"
            prio = 255 - wanted.index(base) if base in wanted else 0
            ep.codecSetPriority(cid, prio)
        self._account(None)

    def _drain_commands(self) -> None:
        while True:
            try:
                fn, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except pj.Error as e:
                fut.set_exception(_err(e))
            except BaseException as e:
                fut.set_exception(_detached(e))
            del fn, fut

    def _reap(self) -> None:
        for leg_id in [k for k, leg in self._legs.items() if leg.disconnected]:
            leg = self._legs.pop(leg_id)
            leg.release_media()
            leg.hooks = None
            del leg
        if self._graveyard:
            keep = [leg for leg in self._graveyard if not leg.disconnected]
            self._graveyard = keep

    def _run(self) -> None:
        try:
            self._init()
        except BaseException as e:
            err = _err(e) if isinstance(e, pj.Error) else e
            self._shutdown()
            self._ready.set_exception(_detached(err))
            return
        self._ready.set_result(None)
        assert self._ep is not None
        poll = self.config.poll_ms
        while not self._stopping:
            self._ep.libHandleEvents(poll)
            if self._unwanted:
                self._refuse_unwanted()
            if self._to_answer:
                self._answer_due()
            self._drain_commands()
            self._reap()
        self._shutdown()

    def _release_all(self) -> None:
        """Drop every call, port and account (the loop variables die with this frame)."""
        self._graveyard.extend(leg for _at, leg in self._unwanted)
        self._unwanted.clear()
        self._to_answer.clear()
        for leg in [*self._legs.values(), *self._graveyard]:
            leg.release_media()
            leg.hooks = None
        self._legs.clear()
        self._graveyard.clear()
        for acc in self._accounts.values():
            acc.detach()
            try:
                acc.shutdown()
            except pj.Error as e:
                log.debug("account shutdown: %s", e.info())
        self._accounts.clear()

    def _shutdown(self) -> None:
        ep = self._ep
        self._stopping = True
        if ep is not None:
            try:
                if self._legs or self._graveyard:
                    ep.hangupAllCalls()
                    deadline = time.monotonic() + 3.0
                    while time.monotonic() < deadline and any(
                        not leg.disconnected for leg in [*self._legs.values(), *self._graveyard]
                    ):
                        ep.libHandleEvents(10)
            except pj.Error as e:
                log.warning("hangupAllCalls: %s", e.info())
            self._release_all()
        # Fail whatever is still queued.
        while True:
            try:
                _fn, fut = self._commands.get_nowait()
            except queue.Empty:
                break
            if fut.set_running_or_notify_cancel():
                fut.set_exception(TelephonyError("engine stopped"))
        if ep is not None:
            try:
                ep.libDestroy()
            except pj.Error as e:
                log.warning("libDestroy: %s", e.info())
            self._ep = None
            del ep
