"""A real local strategy system for the live-data tests: http.server in a thread.

Paths: ``/bills/<id>`` answers the bill; ``/slow`` answers after ``slow_s``; ``/fail`` answers 500;
``/badjson`` answers text; ``/flaky`` fails once then answers; ``/redirect`` redirects to a bill;
``/big`` answers 70 kB. Every request's signature is checked
with the receivers' own :func:`~waihu.service.webhooks.verify_signature`: a bad one gets 401.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from waihu.service.webhooks import SIGNATURE_HEADER, verify_signature

SECRET = "strategy-secret"
BILL = {"bill": {"amount": 8650, "currency": "CNY"}, "plans": ["三期", "六期", "十二期"]}


@dataclass
class Seen:
    """What the server received (checked by the tests)."""

    paths: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    signatures_ok: list[bool] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    seen: Seen
    slow_s: float
    release: threading.Event

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, body: bytes) -> None:
        seen = self.seen
        path = urlsplit(self.path).path
        seen.paths.append(self.path)
        seen.bodies.append(body)
        signed = body if self.command == "POST" else self.path.encode()
        ok = verify_signature(self.headers.get(SIGNATURE_HEADER, ""), signed, SECRET)
        seen.signatures_ok.append(ok)
        seen.hits[path] = seen.hits.get(path, 0) + 1
        if not ok:
            self._answer(401, b'{"error": "bad signature"}')
        elif path == "/slow":
            self.release.wait(self.slow_s)  # released at the end of the test: no lingering sleep
            self._answer(200, json.dumps(BILL).encode())
        elif path == "/fail":
            self._answer(500, b'{"error": "boom"}')
        elif path == "/badjson":
            self._answer(200, b"<html>maintenance</html>", "text/html")
        elif path == "/flaky" and seen.hits[path] == 1:
            self._answer(503, b"{}")
        elif path.startswith("/bills/") or path == "/flaky":
            self._answer(200, json.dumps(BILL, ensure_ascii=False).encode())
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/bills/C1001")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/big":
            self._answer(200, json.dumps({"bill": {"amount": "1" * 70_000}}).encode())
        elif path == "/nobill":
            self._answer(200, json.dumps({"plans": ["三期"]}).encode())
        else:
            self._answer(404, b"{}")

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._handle(self.rfile.read(length))


@dataclass
class StrategyServer:
    """A running server: its base URL and what it saw."""

    url: str
    seen: Seen


@contextmanager
def strategy_server(slow_s: float = 5.0) -> Iterator[StrategyServer]:
    """Serve on 127.0.0.1 (an ephemeral port) for the duration of the ``with`` block."""
    seen = Seen()
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"seen": seen, "slow_s": slow_s, "release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield StrategyServer(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
