"""A `waihu worker` process (rules NLU) dialling the numbers of a routes file until one attempt ends."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sip_peers.peers import free_udp_port
from tests.conftest import ROOT
from waihu.service.models import Attempt


def call_until_finished(
    db_url: str, factory: sessionmaker[Session], routes: Path, log: Path, timeout_s: float = 120
) -> Attempt:
    """Run the worker on ``db_url`` until the first attempt has an outcome; stop it (SIGTERM) and return
    the attempt. The worker's output goes to ``log`` (its tail is the assertion message on timeout)."""
    command = [sys.executable, "-m", "waihu.cli", "worker", "--db", db_url, "--routes", str(routes),
               "--sip-port", str(free_udp_port()), "--rtp-port", str(free_udp_port(40)),
               "--ring-timeout", "5", "--classifier", "rules"]  # fmt: skip
    worker = subprocess.Popen(command, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with factory() as session:
                attempt = session.scalars(select(Attempt)).first()
            if attempt is not None and attempt.outcome is not None:
                return attempt
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
