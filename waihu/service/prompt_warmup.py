"""Synthesise a flow version's fixed prompts and knowledge-base answers when it is uploaded.

The upload only queues the job (a ``flow_warmup`` row, ``pending``); a thread of the service does the
synthesis afterwards, so the request never waits for the voice. It must not slow calls either: with a
speech service (``WAIHU_SPEECH_URL``) the clauses go to its background lane, which runs only while no
call waits; without one the thread synthesises locally at a lower CPU priority (``nice`` 10). The audio
lands in the host's prompt cache (``$WAIHU_DATA_DIR/cache/prompts``), which the workers on this host
read: their first call of the version pays only for its variable clauses.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dialog.flow_files import STORED_FILES
from dialog.loader import load_flow_text
from tts.base import Synthesizer
from waihu.service.db import write_session
from waihu.service.models import FlowVersion, FlowWarmup, utcnow
from waihu_env import environment

log = logging.getLogger(__name__)


def queue_warmup(session: Session, version: FlowVersion) -> None:
    """Queue the synthesis of a new version's fixed prompts (in the upload's transaction)."""
    session.add(FlowWarmup(flow_version_id=version.id, state="pending", updated_at=utcnow()))


def warmup_view(session: Session, flow_version_id: int) -> dict[str, object] | None:
    """``{state, synthesised, cached, error}`` of a version's warm-up (None: never queued)."""
    row = session.get(FlowWarmup, flow_version_id)
    if row is None:
        return None
    return {"state": row.state, "synthesised": row.synthesised, "cached": row.cached, "error": row.error}


class PromptWarmer:
    """A thread that works through the pending warm-ups, one version at a time."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        synthesizer: Callable[[], Synthesizer],
        cache_dir: Path,
        *,
        interval_s: float = 2.0,
    ) -> None:
        self.factory = factory
        self._make_synthesizer = synthesizer
        self._synthesizer: Synthesizer | None = None
        self.cache_dir = cache_dir
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Look for work now (an upload just queued some)."""
        self._wake.set()

    def run_once(self) -> bool:
        """Warm the oldest pending version; False when there was none."""
        with write_session(self.factory) as session:
            row = session.scalars(
                select(FlowWarmup)
                .where(FlowWarmup.state == "pending")
                .order_by(FlowWarmup.updated_at)
                .limit(1)
                .with_for_update(skip_locked=True)  # PostgreSQL: each API host takes its own job
            ).first()
            if row is None:
                return False
            version_id = row.flow_version_id
            row.state, row.updated_at = "running", utcnow()
            version = session.get(FlowVersion, version_id)
            text = version.yaml_text if version is not None else ""
        try:
            synthesised, cached = self._warm(text)
        except Exception as exc:  # a failed warm-up costs only latency on the first calls
            log.exception("warming the prompts of flow version %d failed", version_id)
            self._finish(version_id, "failed", 0, 0, f"{type(exc).__name__}: {exc}"[:500])
        else:
            log.info("flow version %d: %d clauses synthesised, %d cached", version_id, synthesised, cached)
            self._finish(version_id, "done", synthesised, cached, None)
        return True

    def _warm(self, text: str) -> tuple[int, int]:
        from waihu.voice.speech_output import SpeechOutput, fixed_texts

        loaded = load_flow_text(text, "<stored>", files=STORED_FILES)
        if loaded.flow is None:
            raise ValueError("the stored flow no longer validates")
        if self._synthesizer is None:
            self._synthesizer = self._make_synthesizer()
        speech = SpeechOutput(self._synthesizer, self.cache_dir, language=loaded.flow.flow.language)
        return speech.warm(fixed_texts(loaded.flow))

    def _finish(self, version_id: int, state: str, synthesised: int, cached: int, error: str | None) -> None:
        with write_session(self.factory) as session:
            session.execute(
                update(FlowWarmup)
                .where(FlowWarmup.flow_version_id == version_id)
                .values(state=state, synthesised=synthesised, cached=cached, error=error, updated_at=utcnow())
            )

    def start(self) -> None:
        """Start the thread; warm-ups left ``running`` by a stopped service are queued again."""
        with write_session(self.factory) as session:
            session.execute(update(FlowWarmup).where(FlowWarmup.state == "running").values(state="pending"))
        self._thread = threading.Thread(target=self._loop, name="waihu-prompt-warmup", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        if hasattr(os, "setpriority"):  # Linux: a thread has its own nice value; calls keep the CPU
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except OSError:
                log.debug("could not lower the warm-up thread's priority")
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("prompt warm-up round failed")
                busy = False
            if not busy:
                self._wake.wait(self.interval_s)
                self._wake.clear()

    def stop(self) -> None:
        """Stop after the clause in progress."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def default_synthesizer() -> Synthesizer:
    """The speech service's background lane when ``WAIHU_SPEECH_URL`` is set, else the local voice."""
    url = environment().speech_url
    if url:
        from waihu.speech.client import RemoteSynthesizer, SpeechClient

        return RemoteSynthesizer(SpeechClient(url), background=True)
    from waihu.voice.call_builder import default_synthesizer as local

    return local()


def start_warmer(factory: sessionmaker[Session]) -> PromptWarmer | None:
    """The service's warm-up thread, started; None when there is nothing to warm with.

    ``WAIHU_WARM_PROMPTS``: ``auto`` (default) warms on the speech service (``WAIHU_SPEECH_URL``) and
    not at all without one — loading the voice into the API process would put 500 MB and seconds of
    GIL-bound G2P beside every request (an API under a local warm-up once held SQLite's write lock
    past its 30 s timeout); ``local`` synthesises in the API process anyway; ``off`` never warms
    (workers still warm a flow's prompts at its first call).
    """
    env = environment()
    if env.warm_prompts == "off" or (env.warm_prompts == "auto" and not env.speech_url):
        return None
    from nlu.paths import data_dir

    warmer = PromptWarmer(factory, default_synthesizer, data_dir() / "cache" / "prompts")
    warmer.start()
    return warmer
