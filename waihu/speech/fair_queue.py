"""A fair queue for model work: calls take turns, so one chatty call cannot starve the others.

Jobs are queued per *session* (a call); ``threads`` workers take the next job round-robin across the
sessions that have work. *Background* jobs (prompts synthesised ahead of calls) run only when no call
is waiting: a live reply never queues behind a warm-up. Each job's queue wait and run time are
measured for the metrics.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class JobTiming:
    """How long a job waited and ran (milliseconds)."""

    queue_ms: float
    run_ms: float


@dataclass
class _Job:
    fn: Callable[[], Any]
    future: concurrent.futures.Future[tuple[Any, JobTiming]]
    queued_at: float
    background: bool = False


class FairQueue:
    """Round-robin across sessions, ``threads`` jobs at a time."""

    def __init__(self, threads: int = 2, max_queued: int = 256) -> None:
        self.max_queued = max_queued
        self._sessions: OrderedDict[str, deque[_Job]] = OrderedDict()
        self._background: deque[_Job] = deque()
        #: Background jobs never hold every thread: a call arriving mid-warm-up finds one free.
        self._background_limit = max(1, threads - 1)
        self._background_running = 0
        self._queued = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._workers = [
            threading.Thread(target=self._work, name=f"speech-{i}", daemon=True) for i in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    @property
    def depth(self) -> int:
        """Jobs waiting (not yet running)."""
        return self._queued

    def submit(
        self, session: str, fn: Callable[[], Any], *, background: bool = False
    ) -> concurrent.futures.Future[tuple[Any, JobTiming]]:
        """Queue ``fn`` for ``session`` (or behind every call, ``background``); the future gives
        (result, timing).

        Raises :class:`OverflowError` when ``max_queued`` jobs already wait (the caller answers 503).
        """
        future: concurrent.futures.Future[tuple[Any, JobTiming]] = concurrent.futures.Future()
        with self._cond:
            if self._stopping:
                raise RuntimeError("queue stopped")
            if self._queued >= self.max_queued:
                raise OverflowError("speech queue full")
            job = _Job(fn, future, time.perf_counter())
            if background:
                self._background.append(job)
            else:
                self._sessions.setdefault(session, deque()).append(job)
            self._queued += 1
            self._cond.notify()
        return future

    def _next(self) -> _Job | None:
        with self._cond:
            while not self._stopping and not self._sessions and not self._background_ready():
                self._cond.wait()
            if self._stopping:
                return None
            if not self._sessions:
                self._queued -= 1
                self._background_running += 1
                job = self._background.popleft()
                job.background = True
                return job
            session, jobs = next(iter(self._sessions.items()))
            job = jobs.popleft()
            del self._sessions[session]
            if jobs:  # the session goes to the back of the line
                self._sessions[session] = jobs
            self._queued -= 1
            return job

    def _background_ready(self) -> bool:
        return bool(self._background) and self._background_running < self._background_limit

    def _done(self, job: _Job) -> None:
        if job.background:
            with self._cond:
                self._background_running -= 1
                self._cond.notify()

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._run(job)
            finally:
                self._done(job)

    @staticmethod
    def _run(job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        started = time.perf_counter()
        try:
            result = job.fn()
        except BaseException as exc:  # handed to the waiting request
            job.future.set_exception(exc)
            return
        done = time.perf_counter()
        job.future.set_result((result, JobTiming((started - job.queued_at) * 1000, (done - started) * 1000)))

    def stop(self) -> None:
        """Stop the workers; queued jobs are cancelled."""
        with self._cond:
            self._stopping = True
            for jobs in [*self._sessions.values(), self._background]:
                for job in jobs:
                    job.future.cancel()
            self._sessions.clear()
            self._background.clear()
            self._queued = 0
            self._cond.notify_all()
        for worker in self._workers:
            worker.join(timeout=5)
