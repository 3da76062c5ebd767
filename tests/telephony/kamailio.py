"""Kamailio (Debian ``kamailio``) on loopback as a trunk: registrar with digest auth and outbound proxy.

The configuration is ``kamailio/kamailio.cfg`` with this run's port and credentials; Kamailio logs to
a file the tests read (lines starting with ``WAIHU-``). No database: one static user, locations in
memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from sip_peers.peers import HOST, _udp_free, free_udp_port, require

CONFIG = Path(__file__).resolve().parent / "kamailio" / "kamailio.cfg"


class Kamailio:
    """A Kamailio process on ``127.0.0.1:<port>`` (UDP and TCP) accepting ``user``/``password``."""

    def __init__(
        self, workdir: Path, *, user: str = "robot", password: str = "s3cret", realm: str = "waihu.test"
    ):
        self.binary = require("kamailio", "kamailio")
        self.dir = workdir / "kamailio"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.user, self.password, self.realm = user, password, realm
        self.port = free_udp_port()
        self.log_file = self.dir / "kamailio.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """The registrar / proxy address."""
        return f"sip:{HOST}:{self.port}"

    def _write_config(self) -> Path:
        text = CONFIG.read_text(encoding="utf-8")
        for key, value in {"PORT": str(self.port), "USER": self.user, "PASSWORD": self.password,
                           "REALM": self.realm}.items():  # fmt: skip
            text = text.replace(f"@{key}@", value)
        path = self.dir / "kamailio.cfg"
        path.write_text(text, encoding="utf-8")
        return path

    def __enter__(self) -> Kamailio:
        cfg = self._write_config()
        command = [self.binary, "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "4",
                   "-Y", str(self.dir), "-P", str(self.dir / "kamailio.pid")]  # fmt: skip
        check = subprocess.run([*command, "-c"], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"kamailio rejects its configuration: {check.stderr[-3000:]}")
        out = self.log_file.open("wb")
        # Its own session: on exit the whole group (the main process and its children) is stopped.
        self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.monotonic() + 10
        while _udp_free(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"kamailio did not start: {self.log()[-3000:]}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        """Everything Kamailio logged so far."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def lines(self, tag: str) -> list[str]:
        """The ``WAIHU-<tag>`` lines of the log, from the tag on."""
        marker = f"WAIHU-{tag}"
        return [line[line.index(marker) :] for line in self.log().splitlines() if marker in line]

    def __exit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
