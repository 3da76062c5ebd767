"""The telephony worker: claim due contacts, dial them over SIP, run the flow, record the result.

A worker process owns one SIP user agent (at most 4 calls: pjsua2's compiled-in cap) and loads the
models once. Any number of workers, on one host or several, share the database: claims are atomic
and the attempt row is written before the INVITE, so a worker that dies loses only its own calls,
which the service recovers as ``lost`` and retries by policy, never re-dialling the same attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dialog.flow_files import STORED_FILES
from dialog.loader import load_flow_text
from dialog.schema import Flow
from nlu.base import IntentClassifier
from waihu.call_record import CallRecord
from waihu.calls.metrics import WorkerMetrics
from waihu.calls.registration import RegistrationGate
from waihu.calls.trunk import TrunkSettings, with_transport
from waihu.privacy import mask_phone
from waihu.service.flow_assets import materialise
from waihu.service.flows import flow_text
from waihu.service.scheduler import (
    AttemptNotInProgress,
    Claim,
    claim_due_contacts,
    heartbeat,
    mark_answered,
    mark_ringing,
)
from waihu.service.scheduler import record_result as store_result

log = logging.getLogger(__name__)


@dataclass
class DialPlan:
    """How a contact's number becomes a SIP URI: a route table first, else the trunk template.

    ``trunk`` is a template with ``{number}`` (digits, no ``+``), e.g. ``sip:{number}@10.0.0.5:5060``.
    """

    trunk: str = "sip:{number}@127.0.0.1:5070"
    routes: dict[str, str] = field(default_factory=dict)
    #: ``tcp``: URIs without a transport parameter get ``;transport=tcp``.
    transport: str = "udp"

    def uri_for(self, phone: str) -> str:
        """The URI to dial for an E.164 number (routes may be written with or without ``+``)."""
        digits = re.sub(r"\D", "", phone)
        route = self.routes.get(phone) or self.routes.get(digits) or self.routes.get(f"+{digits}")
        return with_transport(route or self.trunk.format(number=digits), self.transport)


@dataclass
class WorkerConfig:
    """Settings of one worker process."""

    worker_id: str
    dial_plan: DialPlan
    sip_port: int = 5080
    rtp_port: int = 41000
    bind: str = "127.0.0.1"
    default_caller_id: str = "waihu"
    max_calls: int = 4
    ring_timeout_s: float = 30.0
    lease_s: int = 60
    poll_s: float = 0.5
    seat_uri: str | None = None
    transfer_mode: str = "bridged"
    recordings_dir: Path | None = None
    classifier_kind: str = "default"
    #: The host's speech service (``waihu speech serve``); None: this process loads the models.
    speech_url: str | None = None
    #: pjsip's own log lines on stderr (0: none, 1: errors, 3: info).
    pj_log_level: int = 1
    #: Tries to save a call's result, this many seconds apart; then the attempt is released (its lease
    #: no longer renewed) so the service recovers it as ``lost``.
    result_tries: int = 3
    #: Serve this worker's own Prometheus metrics on this port (0: none; :mod:`waihu.calls.metrics`).
    metrics_port: int = 0
    result_retry_s: float = 1.0
    #: Listen to early media for carrier announcements (see :mod:`waihu.cpa.early_media`).
    early_media: bool = True
    #: Watch the first seconds of an answered call for an answering machine (:mod:`waihu.cpa.voicemail`).
    detect_voicemail: bool = True
    #: Registration, outbound proxy, public address, transport, caller ID (see :mod:`waihu.calls.trunk`).
    trunk: TrunkSettings = field(default_factory=TrunkSettings)
    #: JSON status for the operator (see :mod:`waihu.calls.registration`).
    status_file: Path | None = None


def _voicemail_policy(claim: Claim, flow: Flow) -> Any:
    """The campaign's answer to an answering machine (hang up, or leave its message)."""
    from waihu.cpa.voicemail import VoicemailPolicy

    return VoicemailPolicy(claim.voicemail_action, claim.voicemail_message, flow.flow.language)


class Worker:
    """One worker process's loop."""

    def __init__(self, factory: sessionmaker[Session], config: WorkerConfig) -> None:
        self.factory = factory
        self.config = config
        self._flows: dict[int, tuple[Flow, IntentClassifier]] = {}
        #: Where each flow version's recordings are on this host (None: it has none; TTS only).
        self._flow_dirs: dict[int, Path | None] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Attempts this worker is still handling: the only ones its heartbeat renews.
        self._active: set[str] = set()
        self.handled = 0
        self._recognizers: dict[str, Any] = {}
        self._synthesizer: Any = None
        self._ahead: Any = None  # synthesis ahead of need: the speech service's background lane
        self.metrics = WorkerMetrics(config.worker_id)
        self._voices: dict[tuple[str, str], Any] = {}  # A/B variants' voices by (language, voice)
        self._speech: Any = None  # SpeechClient when config.speech_url is set

    # ------------------------------------------------------------------ resources
    def _flow(self, session: Session, version_id: int) -> tuple[Flow, IntentClassifier]:
        if version_id not in self._flows:
            from nlu.factory import build_classifier
            from nlu.paths import data_dir

            text = flow_text(session, version_id)
            loaded = load_flow_text(text, f"flow-version-{version_id}.yaml", files=STORED_FILES)
            if loaded.flow is None or loaded.errors:
                raise ValueError(f"stored flow version {version_id} is invalid: {loaded.errors}")
            recordings = data_dir() / "cache" / "recordings"
            self._flow_dirs[version_id] = materialise(session, version_id, recordings)
            if self._speech is not None:
                from waihu.speech.client import RemoteClassifier

                remote = RemoteClassifier(self._speech, text, self.config.classifier_kind)
                remote.warm()  # the service builds the classifier before the first call, not during it
                classifier: IntentClassifier = remote
            else:
                classifier = build_classifier(loaded.flow, self.config.classifier_kind)
            self._flows[version_id] = (loaded.flow, classifier)
            self._warm_prompts(loaded.flow)
        return self._flows[version_id]

    def _warm_prompts(self, flow: Flow) -> None:
        """Synthesise the flow's fixed prompts and KB answers in the background, ahead of its calls."""
        from nlu.paths import data_dir
        from waihu.voice.hold_audio import hold_prompt
        from waihu.voice.speech_output import SpeechOutput, fixed_texts

        if self._ahead is None:
            return
        speech = SpeechOutput(self._ahead, data_dir() / "cache" / "prompts", language=flow.flow.language)
        # The transfer's hold line too: a callee put on hold must not wait for its synthesis.
        texts = [*fixed_texts(flow), hold_prompt(flow.transfer.hold_prompt, flow.flow.language)]

        def warm() -> None:
            try:
                new, cached = speech.warm(texts)
                log.info("flow %s: %d prompts synthesised ahead, %d cached", flow.flow.id, new, cached)
            except Exception:  # a failed warm-up only costs latency later
                log.exception("warming the prompts of %s failed", flow.flow.id)

        threading.Thread(target=warm, name=f"warm-{flow.flow.id}", daemon=True).start()

    def _prerender(self, flow: Flow, variables: dict[str, str], call_id: str) -> None:
        """Synthesise this contact's variable prompts ("{name}您好，" → "张先生您好，") while the
        phone rings, so the greeting and replies that name the callee start without a synthesis."""
        from nlu.paths import data_dir
        from waihu.voice.speech_output import SpeechOutput, variable_texts

        if self._ahead is None:
            return
        ahead = self._ahead.for_session(call_id) if hasattr(self._ahead, "for_session") else self._ahead
        speech = SpeechOutput(ahead, data_dir() / "cache" / "prompts", language=flow.flow.language)
        texts = variable_texts(flow, variables)

        def prerender() -> None:
            try:
                speech.warm(texts)
            except Exception:  # only costs latency later
                log.exception("synthesising the variable prompts of %s ahead failed", flow.flow.id)

        threading.Thread(target=prerender, name="prerender", daemon=True).start()

    def _recognizer(self, flow: Flow) -> Any:
        key = flow.flow.language
        if key not in self._recognizers:
            if self._speech is not None:
                from waihu.speech.client import RemoteRecognizer

                self._recognizers[key] = RemoteRecognizer(self._speech, key)
            else:
                from waihu.voice.call_builder import default_recognizer

                self._recognizers[key] = default_recognizer(key, flow)
        return self._recognizers[key]

    def _voice(self, voice: str | None, language: str) -> Any:
        """The synthesiser of an A/B variant's ``voice``; the worker's own without one (or with a speech
        service, whose voice is its own) or when the voice cannot be loaded."""
        if not voice or self._speech is not None:
            return self._synthesizer
        key = (language, voice)
        if key not in self._voices:
            from tts import default_synthesizer

            try:
                self._voices[key] = default_synthesizer(language, voice)
            except Exception:  # an unknown voice must not fail the call: the default voice speaks
                log.exception("voice %r for %s unavailable; using the default voice", voice, language)
                self._voices[key] = self._synthesizer
        return self._voices[key]

    def _seats_for(self, session: Session, claim: Claim, flow: Flow) -> Any:
        """The seats a transfer of this call rings: the campaign's group (else the flow's) of the
        contact's own tenant (never another tenant's agents), claimed one at a time."""
        from waihu.calls.seats import DatabaseSeats, seat_group

        settings = flow.transfer
        return DatabaseSeats(
            self.factory,
            claim.tenant,
            seat_group(session, claim.campaign_id, settings.skill_group),
            claim.attempt_id,
            claim.campaign_id,
            strategy=settings.strategy,
            ring_s=settings.seat_ring_s,
            max_seats=settings.max_seats,
            fallback_uri=self.config.seat_uri,
        )

    # ------------------------------------------------------------------ main loop
    async def run(self, stop: asyncio.Event) -> None:
        """Claim and call until ``stop`` is set; finishes the calls in progress before returning."""
        from telephony import SipConfig
        from telephony.engine import SipEngine
        from waihu.voice.call_builder import default_synthesizer

        cfg = self.config
        if cfg.speech_url:
            from waihu.speech.client import RemoteSynthesizer, SpeechClient

            self._speech = SpeechClient(cfg.speech_url)
            self._synthesizer = RemoteSynthesizer(self._speech)
            self._ahead = RemoteSynthesizer(self._speech, background=True)
        else:
            self._synthesizer = self._ahead = default_synthesizer()
        sip: SipConfig = cfg.trunk.sip_config(
            bind_address=cfg.bind,
            sip_port=cfg.sip_port,
            rtp_port=cfg.rtp_port,
            caller_id=cfg.default_caller_id,
            recordings_dir=cfg.recordings_dir,
            pj_log_level=cfg.pj_log_level,
        )
        if cfg.metrics_port:
            self.metrics.serve(cfg.metrics_port, cfg.bind)
        async with SipEngine(sip) as engine:
            gate = RegistrationGate(engine, cfg.worker_id, cfg.status_file)
            await gate.first()  # a refused registration ends the worker before it claims anything
            log.info(
                "worker %s ready on %s:%d (≤ %d calls)", cfg.worker_id, cfg.bind, cfg.sip_port, cfg.max_calls
            )
            beat_every = max(1.0, cfg.lease_s / 3)
            last_beat = 0.0
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                if loop.time() - last_beat >= beat_every:
                    with self.factory() as session:
                        self.beat(session)
                    last_beat = loop.time()
                # A finished task's call may still hold a pjsua2 slot for a moment (CANCEL/BYE in flight),
                # and a bridged transfer needs a free slot for the seat's leg: every live leg and every
                # task (which will dial) holds a slot (the kill-cycle test found claims beyond the cap).
                reserved = 1 if cfg.transfer_mode == "bridged" and cfg.max_calls > 1 else 0
                free = cfg.max_calls - reserved - max(len(self._tasks), engine.active_calls)
                if free > 0 and gate.ready():
                    with self.factory() as session:
                        claims = claim_due_contacts(  # within the trunk's shared line cap and CPS
                            session, cfg.worker_id, limit=free, lease_s=cfg.lease_s, trunk=cfg.trunk.name
                        )
                    for claim in claims:
                        self._active.add(claim.attempt_id)
                        task = asyncio.create_task(self._handle(engine, claim))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), cfg.poll_s)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            gate.stopped()

    def beat(self, session: Session, now: dt.datetime | None = None) -> int:
        """Renew the leases of the attempts this worker is still handling (not of any it gave up)."""
        return heartbeat(
            session, self.config.worker_id, now, lease_s=self.config.lease_s, attempt_ids=self._active
        )

    async def _handle(self, engine: Any, claim: Claim) -> None:
        try:
            self.metrics.call_started()
            try:
                result = await self._call(engine, claim)
            except Exception as exc:  # a failed call must still be reported, never lost
                log.exception("call %s failed", claim.attempt_id)
                result = CallRecord(
                    outcome="failed", sip_reason=f"worker error: {type(exc).__name__}: {exc}"[:200]
                )
            trace = result.conversation.trace if result.conversation else []
            latencies = [turn.latency_ms for turn in trace if turn.latency_ms]
            self.metrics.call_finished(claim.campaign_id, result.outcome, latencies)
            await self._save(claim, result)
        finally:
            # Saved, recovered or given up: either way the heartbeat must not renew it any more.
            self._active.discard(claim.attempt_id)
        self.handled += 1

    async def _save(self, claim: Claim, result: CallRecord) -> None:
        """Store the result, retrying a failed write a few times; then leave the attempt to recovery."""
        tries = max(1, self.config.result_tries)
        for attempt in range(1, tries + 1):
            try:
                with self.factory() as session:
                    store_result(session, claim.attempt_id, result)
                return
            except AttemptNotInProgress:
                log.warning("attempt %s was recovered before its result arrived", claim.attempt_id)
                return
            except Exception:
                if attempt == tries:
                    log.exception(
                        "saving the result of attempt %s failed %d times: released for recovery",
                        claim.attempt_id,
                        tries,
                    )
                    return
                log.warning("saving the result of attempt %s failed; retrying", claim.attempt_id)
                await asyncio.sleep(self.config.result_retry_s)

    async def _call(self, engine: Any, claim: Claim) -> CallRecord:
        from nlu.paths import data_dir
        from telephony import CallOutcome
        from waihu.live_data_http import fetcher_from_environment
        from waihu.voice.call_builder import (
            CallSpec,
            MissingVariables,
            SpeechParts,
            call_variables,
            check_variables,
        )
        from waihu.voice.sip_driver import record_for, talk_on_call

        cfg = self.config
        with self.factory() as session:
            flow, classifier = self._flow(session, claim.flow_version_id)
            seats = self._seats_for(session, claim, flow)
        spec = CallSpec(
            flow,
            call_variables(claim.variables, claim.name),
            flow_dir=self._flow_dirs.get(claim.flow_version_id),
            fetcher=fetcher_from_environment(),
        )
        try:
            check_variables(flow, spec.variables)
        except MissingVariables as exc:  # calling would only embarrass the callee: let the strategy fix it
            return CallRecord(outcome="failed", sip_reason=str(exc))
        target = cfg.dial_plan.uri_for(claim.phone)
        self._prerender(flow, dict(spec.variables), claim.attempt_id)
        log.info(
            "dialling %s (attempt %s #%d)", mask_phone(claim.phone), claim.attempt_id, claim.attempt_number
        )
        from waihu.cpa.early_media import dial_listening

        listened = await dial_listening(  # carrier announcements (空号/关机 …) decide before any answer
            engine,
            target,
            recognizer=self._recognizer(flow) if cfg.early_media else None,
            ring_timeout_s=cfg.ring_timeout_s,
            caller_id=claim.caller_number or cfg.default_caller_id,
            record=cfg.recordings_dir is not None,
        )
        outcome = listened.dial
        record = record_for(outcome, target, announcement=listened.decision)
        with self.factory() as session:
            if record.ring_at:
                mark_ringing(session, claim.attempt_id, record.ring_at)
            if outcome.outcome is CallOutcome.ANSWERED:
                mark_answered(session, claim.attempt_id, record.answer_at, lease_s=cfg.lease_s)
        if outcome.outcome is CallOutcome.ANSWERED and outcome.call is not None:
            parts = SpeechParts(
                classifier,
                self._recognizer(flow),
                self._voice(claim.extra.get("voice"), flow.flow.language),
                data_dir() / "cache" / "prompts",
            )
            await talk_on_call(
                outcome.call,
                record,
                spec=spec,
                parts=parts,
                seat_uri=None,
                seats=seats,
                transfer_mode=cfg.transfer_mode,
                voicemail=_voicemail_policy(claim, flow) if cfg.detect_voicemail else None,
            )
        return record
