"""Workers' side of the speech service: remote recogniser, classifier and synthesiser.

Each class implements the same protocol as its local backend, so the voice loop cannot tell the
difference. Calls are synchronous (the voice loop runs them on its speech threads) over one pooled
HTTP/1.1 connection per process. ``session`` (a call id) lets the service queue calls fairly.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from asr.base import Transcript
from nlu.base import NluResult
from tts.base import Audio

TIMEOUT_S = 30.0  # a decode waits behind at most a full queue; anything longer is a dead service


class SpeechServiceError(RuntimeError):
    """The speech service refused or failed a request."""


class SpeechClient:
    """One connection pool to the service at ``base_url`` (e.g. ``http://127.0.0.1:7070``)."""

    def __init__(self, base_url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)
        self._lock = threading.Lock()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; raises :class:`SpeechServiceError` on transport errors and non-2xx answers."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SpeechServiceError(f"speech service at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise SpeechServiceError(
                f"speech service {method} {path}: {response.status_code} {response.text[:200]}"
            )
        return response

    def healthy(self) -> bool:
        """True when ``/healthz`` answers."""
        try:
            return self._http.get("/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Close the connections."""
        self._http.close()


class RemoteRecognizer:
    """:class:`asr.base.UtteranceRecognizer` on the service."""

    def __init__(self, client: SpeechClient, language: str, session: str | None = None) -> None:
        self.client = client
        self.language = language
        self.session = session or uuid.uuid4().hex[:12]

    def for_call(self, call_id: str) -> RemoteRecognizer:
        """The same recogniser queued under ``call_id`` (fairness across calls)."""
        return RemoteRecognizer(self.client, self.language, call_id)

    def transcribe(self, pcm: bytes, sample_rate: int, *, initial_prompt: str | None = None) -> Transcript:
        """Send one utterance; the service decodes it."""
        params: dict[str, Any] = {
            "language": self.language,
            "sample_rate": sample_rate,
            "session": self.session,
        }
        if initial_prompt:
            params["prompt"] = initial_prompt[:400]
        body = self.client.request(
            "POST",
            "/v1/asr/transcribe",
            params=params,
            content=pcm,
            headers={"Content-Type": "audio/L16"},
        ).json()
        alternatives = tuple((text, score) for text, score in body.get("alternatives", ()))
        return Transcript(
            body["text"], True, 0.0, body["end_s"], body["confidence"], alternatives=alternatives
        )


class RemoteClassifier:
    """:class:`nlu.base.IntentClassifier` of one flow, built on the service from the flow's YAML."""

    def __init__(self, client: SpeechClient, flow_yaml: str, kind: str = "default") -> None:
        self.client = client
        self.flow_yaml = flow_yaml
        self.kind = kind
        self._key: str | None = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Build the flow's classifier on the service now (before the call, not at its first answer)."""
        self._register()

    def _register(self) -> str:
        with self._lock:
            if self._key is None:
                body = {"yaml": self.flow_yaml, "classifier": self.kind}
                self._key = self.client.request("POST", "/v1/nlu/flows", json=body).json()["flow"]
            return self._key

    def classify(self, text: str, candidates: Sequence[str] | None = None) -> NluResult:
        """Classify on the service (registering the flow again if the service restarted)."""
        return self.classify_nbest(text, (), candidates)

    def classify_nbest(
        self, text: str, alternatives: Sequence[tuple[str, float]], candidates: Sequence[str] | None = None
    ) -> NluResult:
        """:func:`nlu.nbest.classify_nbest` on the service: one request for the whole n-best."""
        body: dict[str, Any] = {"flow": self._register(), "text": text}
        if candidates is not None:
            body["candidates"] = list(candidates)
        if alternatives:
            body["hypotheses"] = [[hyp, score] for hyp, score in alternatives[:8]]
        try:
            answer = self.client.request("POST", "/v1/nlu/classify", json=body).json()
        except SpeechServiceError as exc:
            if " 404 " not in str(exc):
                raise
            with self._lock:
                self._key = None
            body["flow"] = self._register()
            answer = self.client.request("POST", "/v1/nlu/classify", json=body).json()
        return NluResult(
            answer["intent"],
            answer["confidence"],
            answer["normalized"],
            answer["source"],
            answer["entities"],
            tuple((name, score) for name, score in answer["alternatives"]),
        )


class RemoteSynthesizer:
    """:class:`tts.base.Synthesizer` on the service (the worker's prompt cache stays local)."""

    def __init__(self, client: SpeechClient, *, background: bool = False, session: str | None = None) -> None:
        self.client = client
        #: Ahead-of-call synthesis: the service runs it only when no call is waiting.
        self.background = background
        #: The fair queue's session (a call id): jobs of different sessions are served in turn, so one
        #: call's ring-time pre-rendering is not queued behind a whole flow's warm-up.
        self.session = session
        info = client.request("GET", "/v1/tts/info").json()
        # The service's own version: its audio is the local synthesiser's, so workers, `waihu tts
        # warm` and the service share one prompt cache.
        self.version: str = info["version"]
        self._voices: dict[str, str] = info["voices"]

    def for_session(self, session: str) -> RemoteSynthesizer:
        """The same synthesiser, its jobs queued as ``session`` (no new request to the service)."""
        clone = copy.copy(self)
        clone.session = session[:64]
        return clone

    def voice_for(self, language: str) -> str:
        """The service's voice for ``language``."""
        return self._voices.get(language, language)

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Audio:
        """Synthesise on the service."""
        params: dict[str, str] = {}
        if self.background:
            params["background"] = "true"
        if self.session:
            params["session"] = self.session
        response = self.client.request(
            "POST",
            "/v1/tts/synthesize",
            params=params or None,
            json={"text": text, "language": language, "rate": rate},
        )
        return Audio(response.content, int(response.headers["X-Sample-Rate"]))
