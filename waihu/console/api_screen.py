"""The big screen's endpoints: one snapshot as JSON, and a server-sent-event stream of snapshots.

The stream is bounded three ways: at most :data:`MAX_STREAMS_PER_KEY` open streams per API key (the
next one gets a 429), it ends when the client disconnects, and it ends after ``max_seconds`` anyway (the
page reconnects), so a forgotten browser tab cannot hold a slot forever.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from waihu.console.screen import ScreenSnapshot, screen_snapshot, snapshot_event
from waihu.service.api.deps import SessionDep, Strategy, service_state
from waihu.service.api.responses import AUTH, ErrorBody, errors
from waihu.service.problems import problem

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console/api/screen", tags=["console"], responses=errors(*AUTH))

#: Open snapshot streams one key may hold (a wall screen or two, plus a laptop).
MAX_STREAMS_PER_KEY = 3
#: Seconds between two snapshots of a stream.
INTERVAL_S = 2.0
#: A stream ends after this long; the page simply reconnects.
MAX_STREAM_S = 3600.0
_SSE: dict[int | str, dict[str, Any]] = {
    # No schema: the body is a stream of `event: snapshot` / `data: <ScreenSnapshot JSON>` blocks,
    # which no OpenAPI schema describes (a client reads it line by line).
    200: {
        "content": {"text/event-stream": {}},
        "description": "`event: snapshot` blocks whose `data:` is a ScreenSnapshot (JSON).",
    }
}
_TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Too many open big-screen streams for this key."}
}


class StreamSlots:
    """Counts the open streams per key; thread-safe because the counting happens in request handlers."""

    def __init__(self, per_key: int = MAX_STREAMS_PER_KEY) -> None:
        self.per_key = per_key
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, key_id: str) -> bool:
        """Reserve a slot for ``key_id``; False when it holds ``per_key`` already."""
        with self._lock:
            if self._open[key_id] >= self.per_key:
                return False
            self._open[key_id] += 1
            return True

    def release(self, key_id: str) -> None:
        """Give a slot of ``key_id`` back."""
        with self._lock:
            self._open[key_id] -= 1
            if self._open[key_id] <= 0:
                del self._open[key_id]

    def open(self, key_id: str) -> int:
        """How many streams ``key_id`` holds now."""
        with self._lock:
            return self._open.get(key_id, 0)


def stream_slots(request: Request) -> StreamSlots:
    """The app's :class:`StreamSlots`, made on first use."""
    slots: StreamSlots | None = getattr(request.app.state, "screen_streams", None)
    if slots is None:
        slots = request.app.state.screen_streams = StreamSlots()
    return slots


@router.get("", summary="The big screen's numbers now", response_model=ScreenSnapshot)
def snapshot(session: SessionDep, key: Strategy) -> ScreenSnapshot:
    """Calls in progress, calls per minute, answer rate, grades, transfers, intents, FAQ hits, latency."""
    return screen_snapshot(session, key.tenant)


@router.get(
    "/stream",
    summary="The big screen's numbers, pushed every ~2 s (text/event-stream)",
    response_class=StreamingResponse,
    responses=_SSE | errors(422) | _TOO_MANY,
)
async def stream(
    request: Request,
    key: Strategy,
    interval_s: Annotated[float, Query(ge=0.5, le=60)] = INTERVAL_S,
    max_seconds: Annotated[float, Query(ge=1, le=MAX_STREAM_S)] = MAX_STREAM_S,
) -> StreamingResponse:
    """Server-sent events: an ``event: snapshot`` with the JSON of ``GET /console/api/screen`` each tick."""
    slots = stream_slots(request)
    if not slots.take(key.id):
        raise problem(status.HTTP_429_TOO_MANY_REQUESTS, "screen_streams_full", limit=slots.per_key)
    factory = service_state(request).factory
    tenant, key_id = key.tenant, key.id

    def compute() -> str:
        with factory() as session:
            return snapshot_event(screen_snapshot(session, tenant))

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        yield "retry: 3000\n\n"
        while loop.time() < deadline and not await request.is_disconnected():
            # SQLAlchemy sessions are synchronous: compute off the event loop.
            yield await run_in_threadpool(compute)
            await asyncio.sleep(interval_s)

    headers: dict[str, Any] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return _SlotStream(
        lambda: slots.release(key_id), events(), media_type="text/event-stream", headers=headers
    )


class _SlotStream(StreamingResponse):
    """A streaming response that gives its stream slot back however it ends (done, disconnect, error).

    Released here rather than in the generator's ``finally``: a generator cancelled before its first
    step never runs its ``finally``.
    """

    def __init__(self, release: Callable[[], None], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            log.info("big-screen stream closed")
