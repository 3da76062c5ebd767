"""API latency under load and webhook delivery throughput.

    .venv/bin/python bench/api_load.py [--clients 16] [--seconds 15] [--events 2000]

Starts the API (uvicorn, one process, temporary SQLite) with 10,000 contacts and some finished
calls, then N client threads loop over the endpoints a strategy system polls; prints requests/s
and p50/p95/p99. Then queues webhook events and times their delivery to a local receiver.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import ALL_DAY, run_server
from waihu.call_record import CallRecord
from waihu.service.db import open_database
from waihu.service.models import WebhookEvent, utcnow
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.settings import Settings
from waihu.service.webhook_destinations import DestinationPolicy
from waihu.service.webhooks import WebhookSender, new_event_id


def _load(base_url: str, key: str, campaign_id: int, clients: int, seconds: float) -> None:
    import httpx

    paths = [
        f"/v1/campaigns/{campaign_id}",
        f"/v1/results?campaign_id={campaign_id}&limit=50",
        "/v1/campaigns?limit=20",
    ]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop(index: int) -> None:
        nonlocal errors
        mine: list[float] = []
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            i = index
            while time.monotonic() < deadline:
                started = time.perf_counter()
                status = client.get(paths[i % len(paths)]).status_code
                mine.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    with lock:
                        errors += 1
                i += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        f"API under load: {clients} clients, {len(latencies) / seconds:.0f} req/s, "
        f"p50 {percentile(latencies, 50):.1f} ms  p95 {percentile(latencies, 95):.1f} ms  "
        f"p99 {percentile(latencies, 99):.1f} ms, errors {errors}"
    )


def _webhooks(url: str, events: int) -> None:
    received = 0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            nonlocal received
            self.rfile.read(int(self.headers.get("content-length", 0)))
            with lock:
                received += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _engine, factory = open_database(url, migrate=False)
    with factory() as session:
        from tests.service.helpers import make_campaign

        campaign = make_campaign(
            session, webhook_url=f"http://127.0.0.1:{server.server_port}/hook", webhook_secret="s" * 24
        )
        session.add_all(
            WebhookEvent(id=new_event_id(), campaign_id=campaign.id, type="call.finished", payload={"n": n},
                         next_try_at=utcnow())
            for n in range(events)
        )  # fmt: skip
        session.commit()
    local = DestinationPolicy.from_entries(["127.0.0.1"], allow_http=True)  # the local receiver
    sender = WebhookSender(factory, batch=200, policy=local)
    started = time.perf_counter()
    while received < events and time.perf_counter() - started < 300:
        sender.deliver_due()
    elapsed = time.perf_counter() - started
    sender.close()
    server.shutdown()
    print(
        f"webhooks: {received} signed events delivered in {elapsed:.1f} s "
        f"({received / elapsed:.0f}/s, one sender)"
    )


def main() -> None:
    """Run both measurements and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    with run_server(Settings(database_url=url, background=False)) as server, server.client() as client:
        client.post("/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"})
        campaign_id = client.post(
            "/v1/campaigns", json={"name": "load", "flow_id": "mini", "windows": ALL_DAY}
        ).json()["id"]
        contacts = [{"reference_id": f"r{i}", "phone": f"139{i:08d}"} for i in range(10_000)]
        client.post(f"/v1/campaigns/{campaign_id}/contacts", json={"contacts": contacts})
        _engine, factory = open_database(url, migrate=False)
        with factory() as session:
            for claim in claim_due_contacts(session, "bench", limit=200):
                record_result(session, claim.attempt_id, CallRecord(outcome="busy", sip_code=486))
        _load(server.base_url, server.admin_key, campaign_id, args.clients, args.seconds)
    _webhooks(url, args.events)


if __name__ == "__main__":
    main()
