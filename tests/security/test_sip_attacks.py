"""SIP attacks against a running engine (in its own process): each one first reproduced, then refused.

- toll fraud by REFER: a callee asks the robot to dial another number; the robot refuses and dials nothing;
- an unsolicited INVITE without SDP (delayed offer), as ``svmap -m INVITE`` sends, used to abort pjsua2.
After each attack the same engine must still place a normal call.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sip_peers.peers import HOST, Sipp, free_udp_port, tone, write_ulaw_for_sipp
from tests.conftest import ROOT

pytestmark = pytest.mark.sip


class SipTarget:
    """The engine under attack: ``python -m tests.security.sip_target`` on free loopback ports."""

    def __init__(self) -> None:
        self.port = free_udp_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.security.sip_target", str(self.port), str(free_udp_port(40))],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line == "READY", f"target did not start: {line!r} {self._stderr()}"

    @property
    def address(self) -> str:
        """host:port of the target's SIP transport."""
        return f"{HOST}:{self.port}"

    def dial(self, uri: str, hold_s: float) -> dict[str, object]:
        """Ask the target to dial ``uri``; the parsed result line."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"dial {uri} {hold_s}\n")
        self.proc.stdin.flush()
        while True:  # pjsip may log to stdout too: the answer is the JSON line
            line = self.proc.stdout.readline()
            assert line, f"target died (exit {self.proc.poll()}): {self._stderr()}"
            if line.startswith("{"):
                return json.loads(line)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-3000:]

    def close(self) -> int:
        """Stop the target; its exit status."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def target() -> Iterator[SipTarget]:
    """A fresh engine process; the test fails if it did not exit cleanly."""
    t = SipTarget()
    try:
        yield t
    finally:
        rc = t.close()
    assert rc == 0, f"the engine process ended with {rc}"


class UdpListener:
    """A bare UDP socket standing for a premium-rate number: counts the SIP requests it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.2)

    @property
    def uri(self) -> str:
        """The SIP URI an attacker would ask the robot to call."""
        return f"sip:0900123456@{HOST}:{self.sock.getsockname()[1]}"

    def received(self) -> list[bytes]:
        """Every datagram that arrived so far."""
        got = []
        while True:
            try:
                got.append(self.sock.recv(65535))
            except TimeoutError:
                return got


def _still_dials(target: SipTarget, workdir: Path) -> None:
    wav = write_ulaw_for_sipp(workdir / "tone.ulaw", tone(1000.0, 1.0))
    with Sipp("uas_answer_bye.xml", workdir, wav=wav) as callee:
        result = target.dial(callee.uri, 1.0)
    assert result["outcome"] == "answered", result


def test_callee_refer_is_refused_and_nothing_is_dialled(
    target: SipTarget, tmp_path: Path, workdir: Callable[[str], Path]
) -> None:
    """Toll fraud by REFER: the callee's REFER gets 403, the Refer-To target gets no INVITE."""
    fraud = UdpListener()
    with Sipp("uas_refer_attack.xml", workdir("attacker"), keys={"fraud_uri": fraud.uri}) as attacker:
        result = target.dial(attacker.uri, 6.0)
        rc = attacker.wait(10)
        logged = attacker.logged()
    assert result["outcome"] == "answered", result
    assert "REFER_REPLY=403" in logged, logged
    assert rc == 0, logged
    assert fraud.received() == [], "the robot dialled the REFER target"
    assert target.alive()
    _still_dials(target, workdir("callee"))


@pytest.mark.parametrize("attempts", [3])
def test_invite_without_sdp_is_refused_and_the_engine_survives(
    target: SipTarget, workdir: Callable[[str], Path], attempts: int
) -> None:
    """Delayed-offer INVITEs (svmap's probe) get a final refusal; the engine keeps working."""
    for i in range(attempts):
        with Sipp("uac_invite_no_sdp.xml", workdir(f"prober{i}"), remote=target.address) as prober:
            rc = prober.wait(10)
            logged = prober.logged()
        assert target.alive(), "the engine died on an INVITE without SDP"
        assert rc == 0 and "FINAL=603" in logged, logged
    _still_dials(target, workdir("callee"))
