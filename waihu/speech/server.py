"""The speech service's HTTP API: ASR, NLU and TTS for every call on the host (see docs/speech-protocol.md).

Models load once, on first use. Model work goes through one :class:`FairQueue` (round-robin across
calls, as many threads as cores); the HTTP layer only parses and waits. Audio travels as raw 16-bit
little-endian mono PCM (``audio/L16``), the rate in the query or a response header.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, Field

from asr.base import UtteranceRecognizer
from dialog.flow_files import STORED_FILES
from dialog.loader import load_flow_text
from nlu.base import IntentClassifier
from nlu.nbest import classify_nbest
from tts.base import Synthesizer
from waihu.speech.fair_queue import FairQueue, JobTiming

log = logging.getLogger(__name__)

MAX_AUDIO_BYTES = 30 * 16000 * 2  # 30 s at 16 kHz: Whisper's whole window
MAX_FLOW_BYTES = 1 << 20
MAX_FLOWS = 256  # registered flows kept (oldest dropped): bounded memory
LANGUAGES = ("zh", "en")


class ClassifyRequest(BaseModel):
    """Classify a callee's words with a registered flow's classifier."""

    flow: str = Field(description="Key returned by POST /v1/nlu/flows.")
    text: str = Field(max_length=2000)
    candidates: list[str] | None = Field(default=None, max_length=500)
    hypotheses: list[tuple[str, float]] = Field(
        default_factory=list,
        max_length=8,
        description="The recogniser's n-best ((text, log-prob per token), best first): the intent "
        "then combines ASR and NLU scores across them (nlu.nbest).",
    )


class ClassifyResponse(BaseModel):
    """The best intent."""

    intent: str
    confidence: float
    normalized: str = ""
    source: str = "none"
    entities: dict[str, str] = Field(default_factory=dict)
    alternatives: list[tuple[str, float]] = Field(default_factory=list)


class FlowRequest(BaseModel):
    """A flow's YAML, to build its classifier on the service."""

    yaml: str = Field(max_length=MAX_FLOW_BYTES)
    classifier: str = Field(default="default", pattern="^(default|rules|model)$")


class FlowResponse(BaseModel):
    """The key to classify with."""

    flow: str


class SynthesizeRequest(BaseModel):
    """Text to speak."""

    text: str = Field(min_length=1, max_length=2000)
    language: str = Field(default="zh", pattern="^(zh|en)$")
    rate: int | None = Field(default=None, ge=50, le=500)


class TranscribeResponse(BaseModel):
    """A transcript with the service's timings."""

    text: str
    confidence: float | None
    end_s: float
    alternatives: list[tuple[str, float]] = Field(
        default_factory=list, description="n-best (text, log-prob per token), best first; may be empty."
    )
    queue_ms: float
    decode_ms: float


class TtsInfo(BaseModel):
    """What a client needs for its prompt cache keys."""

    version: str
    voices: dict[str, str]


@dataclass
class SpeechEngines:
    """The models, made on first use by the given factories (tests pass light ones)."""

    recognizer_for: Callable[[str], UtteranceRecognizer]
    synthesizer_for: Callable[[], Synthesizer]
    classifier_for: Callable[[Any, str], IntentClassifier]
    _recognizers: dict[str, UtteranceRecognizer] = field(default_factory=dict)
    _synthesizer: Synthesizer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def recognizer(self, language: str) -> UtteranceRecognizer:
        """This language's recogniser (loaded once)."""
        with self._lock:
            if language not in self._recognizers:
                self._recognizers[language] = self.recognizer_for(language)
            return self._recognizers[language]

    def synthesizer(self) -> Synthesizer:
        """The synthesiser (loaded once)."""
        with self._lock:
            if self._synthesizer is None:
                self._synthesizer = self.synthesizer_for()
            return self._synthesizer


def default_engines() -> SpeechEngines:
    """Whisper-base, the default voice and the flows' default classifiers."""
    from nlu.factory import build_classifier
    from waihu.voice.call_builder import default_recognizer, default_synthesizer

    return SpeechEngines(
        recognizer_for=lambda language: default_recognizer(language),
        synthesizer_for=default_synthesizer,
        classifier_for=build_classifier,
    )


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "waihu_speech_requests", "Speech requests", ["kind", "status"], registry=self.registry
        )
        self.queue = Histogram(
            "waihu_speech_queue_seconds",
            "Time a job waited in the fair queue",
            ["kind"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.run = Histogram(
            "waihu_speech_run_seconds",
            "Time a job ran (decode, classification, synthesis)",
            ["kind"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2.5),
        )
        self.depth = Gauge("waihu_speech_queue_depth", "Jobs waiting", registry=self.registry)

    def observe(self, kind: str, timing: JobTiming) -> None:
        self.requests.labels(kind, "ok").inc()
        self.queue.labels(kind).observe(timing.queue_ms / 1000)
        self.run.labels(kind).observe(timing.run_ms / 1000)


@dataclass
class _Flight:
    """A synthesis in flight that identical requests await; ``started`` once a thread runs it."""

    job: asyncio.Future[tuple[Any, JobTiming]]
    started: threading.Event


def create_speech_app(engines: SpeechEngines | None = None, *, threads: int = 2) -> FastAPI:
    """The speech service's ASGI app."""
    engines = engines or default_engines()
    queue = FairQueue(threads)
    metrics = _Metrics()
    flows: dict[str, IntentClassifier] = {}
    flows_lock = threading.Lock()
    synthesizing: dict[tuple[str, str, int | None, bool], _Flight] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        queue.stop()

    app = FastAPI(title="waihu speech service", version="1", lifespan=lifespan)

    async def run(
        kind: str, session: str, fn: Callable[[], Any], background: bool = False
    ) -> tuple[Any, JobTiming]:
        try:
            future = queue.submit(session, fn, background=background)
        except OverflowError as exc:
            metrics.requests.labels(kind, "busy").inc()
            raise HTTPException(503, "speech queue full, retry later") from exc
        metrics.depth.set(queue.depth)
        result, timing = await asyncio.wrap_future(future)
        metrics.observe(kind, timing)
        return result, timing

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "queue_depth": queue.depth, "flows": len(flows)}

    @app.get("/metrics")
    def prometheus() -> Response:
        metrics.depth.set(queue.depth)
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    @app.post("/v1/asr/transcribe", response_model=TranscribeResponse)
    async def transcribe(
        request: Request,
        language: str = Query("zh", pattern="^(zh|en)$"),
        sample_rate: int = Query(8000),
        prompt: str | None = Query(None, max_length=400),
        session: str = Query("-", max_length=64),
    ) -> TranscribeResponse:
        if sample_rate not in (8000, 16000):
            raise HTTPException(422, "sample_rate: 8000 or 16000")
        pcm = await _bounded_body(request, MAX_AUDIO_BYTES)
        if len(pcm) % 2:
            raise HTTPException(422, "body: 16-bit PCM has an even number of bytes")
        recognizer = engines.recognizer(language)
        transcript, timing = await run(
            "asr", session, lambda: recognizer.transcribe(pcm, sample_rate, initial_prompt=prompt)
        )
        return TranscribeResponse(
            text=transcript.text,
            confidence=transcript.confidence,
            end_s=transcript.end_s,
            alternatives=[(text, score) for text, score in transcript.alternatives],
            queue_ms=round(timing.queue_ms, 1),
            decode_ms=round(timing.run_ms, 1),
        )

    @app.post("/v1/nlu/flows", response_model=FlowResponse)
    async def register_flow(body: FlowRequest) -> FlowResponse:
        key = hashlib.sha256(f"{body.classifier}\n{body.yaml}".encode()).hexdigest()[:32]
        with flows_lock:
            if key in flows:
                return FlowResponse(flow=key)
        loaded = load_flow_text(body.yaml, "<speech-service>", files=STORED_FILES)
        if loaded.flow is None or loaded.errors:
            problems = "; ".join(p.format() for p in loaded.problems[:5])
            raise HTTPException(422, f"yaml: invalid flow: {problems}")
        flow = loaded.flow
        classifier, _timing = await run("flow", key, lambda: engines.classifier_for(flow, body.classifier))
        with flows_lock:
            if len(flows) >= MAX_FLOWS:
                flows.pop(next(iter(flows)))
            flows[key] = classifier
        return FlowResponse(flow=key)

    @app.post("/v1/nlu/classify", response_model=ClassifyResponse)
    async def classify(body: ClassifyRequest, session: str = Query("-", max_length=64)) -> ClassifyResponse:
        classifier = flows.get(body.flow)
        if classifier is None:
            raise HTTPException(404, "flow: unknown key, register the flow first")
        hypotheses = [(text[:2000], score) for text, score in body.hypotheses]
        result, _timing = await run(
            "nlu", session, lambda: classify_nbest(classifier, body.text, hypotheses, body.candidates)
        )
        return ClassifyResponse(
            intent=result.intent,
            confidence=result.confidence,
            normalized=result.normalized,
            source=result.source,
            entities=dict(result.entities),
            alternatives=[(name, score) for name, score in result.alternatives],
        )

    @app.get("/v1/tts/info", response_model=TtsInfo)
    async def tts_info() -> TtsInfo:
        synthesizer = engines.synthesizer()
        voice_for = getattr(synthesizer, "voice_for", lambda language: language)
        return TtsInfo(version=synthesizer.version, voices={lang: voice_for(lang) for lang in LANGUAGES})

    @app.post("/v1/tts/synthesize")
    async def synthesize(
        body: SynthesizeRequest,
        session: str = Query("-", max_length=64),
        background: bool = Query(False, description="Ahead-of-call work: runs when no call waits."),
    ) -> Response:
        synthesizer = engines.synthesizer()
        # Single flight: calls that need the same clause at once (the same greeting when a campaign's
        # lines start together) share one synthesis instead of queueing N copies of it. Background
        # work joins any job; a live request joins a background job (a call's ring-time
        # pre-rendering) only once it runs: the background lane waits while calls wait, so a queued
        # one could keep the live request waiting long.
        key = (body.text, body.language, body.rate, background)
        flight = synthesizing.get(key)
        other = synthesizing.get((body.text, body.language, body.rate, not background))
        if flight is None and other is not None and (background or other.started.is_set()):
            flight = other
        if flight is None:
            started = threading.Event()

            def synthesize_text() -> Any:
                started.set()
                return synthesizer.synthesize(body.text, language=body.language, rate=body.rate)

            job = asyncio.ensure_future(run("tts", session, synthesize_text, background))
            flight = _Flight(job, started)
            synthesizing[key] = flight
            job.add_done_callback(lambda _done: synthesizing.pop(key, None))
        audio, _timing = await asyncio.shield(flight.job)
        return Response(
            audio.pcm,
            media_type="audio/L16",
            headers={"X-Sample-Rate": str(audio.sample_rate), "X-Tts-Version": synthesizer.version},
        )

    return app


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (counted as it streams in)."""
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body: audio over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
