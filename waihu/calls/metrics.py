"""A worker's own Prometheus metrics, updated as its calls happen (``waihu worker --metrics-port``).

The service's ``/metrics`` counts what the database knows (attempts by campaign and outcome, live
calls, the webhook backlog); what only the worker sees as it happens lives here: calls in progress,
finished calls by campaign and outcome, and the reply latency of every turn (end of the callee's
speech → first robot audio), per campaign. Scrape each worker (Prometheus labels the ``instance``).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

#: Seconds; the target is 0.8 s from the end of speech to the first robot audio.
LATENCY_BUCKETS = (0.3, 0.5, 0.65, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0)


class WorkerMetrics:
    """Counters, a gauge and a histogram in the worker's own registry."""

    def __init__(self, worker_id: str) -> None:
        self.registry = CollectorRegistry()
        self.worker_id = worker_id
        self.calls = Counter(
            "waihu_worker_calls",
            "Call attempts this worker finished, by campaign and outcome.",
            ["worker", "campaign", "outcome"],
            registry=self.registry,
        )
        self.active = Gauge(
            "waihu_worker_active_calls", "Calls dialling or talking now.", ["worker"], registry=self.registry
        )
        self.reply_latency = Histogram(
            "waihu_worker_reply_latency_seconds",
            "End of the callee's speech to the robot's first audio, per turn.",
            ["worker", "campaign"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def call_started(self) -> None:
        """A claim is being dialled."""
        self.active.labels(self.worker_id).inc()

    def call_finished(self, campaign_id: int, outcome: str, latencies_ms: Iterable[float]) -> None:
        """A call ended with ``outcome``; ``latencies_ms`` are its turns' reply latencies."""
        campaign = str(campaign_id)
        self.active.labels(self.worker_id).dec()
        self.calls.labels(self.worker_id, campaign, outcome).inc()
        histogram = self.reply_latency.labels(self.worker_id, campaign)
        for latency in latencies_ms:
            histogram.observe(latency / 1000)

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` on ``address:port`` (a daemon thread)."""
        start_http_server(port, addr=address, registry=self.registry)
