"""Fuzzing a live SIP engine: sipvicious scans, hostile datagrams, presence subscriptions.

Each run ends with the same engine placing a normal call: 0 crashes. A UDP listener stands for any
number an attacker would like the robot to call: it must receive nothing (0 calls caused).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sip_peers.peers import HOST, Sipp
from tests.security.sip_garbage import payloads
from tests.security.test_sip_attacks import SipTarget, UdpListener, _still_dials, target  # noqa: F401

pytestmark = pytest.mark.sip


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise AssertionError(f"{name} missing: pip install sipvicious (a dev dependency)")
    return found


def _send_all(port: int) -> list[bytes]:
    """Send every hostile datagram; collect whatever the engine answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.settimeout(0.05)
    answers = []
    for _name, datagram in payloads():
        if datagram:
            sock.sendto(datagram[:65000], (HOST, port))
        time.sleep(0.02)
        try:
            while True:
                answers.append(sock.recv(65535))
        except TimeoutError:
            pass
    sock.close()
    return answers


def test_hostile_datagrams_crash_nothing_and_dial_nothing(
    target: SipTarget,  # noqa: F811
    workdir: Callable[[str], Path],
) -> None:
    answers = _send_all(target.port)
    assert target.alive(), "the engine died on a malformed datagram"
    finals = [a.split(b"\r\n", 1)[0] for a in answers if a.startswith(b"SIP/2.0")]
    assert not any(line.startswith(b"SIP/2.0 202") for line in finals)  # no REFER ever accepted
    _still_dials(target, workdir("callee"))


def test_sipvicious_scans_crash_nothing_and_dial_nothing(
    target: SipTarget,  # noqa: F811
    workdir: Callable[[str], Path],
) -> None:
    fraud = UdpListener()
    svmap, svwar = _tool("sipvicious_svmap"), _tool("sipvicious_svwar")
    runs = [
        [svmap, "-p", str(target.port), "-m", method, HOST] for method in ("INVITE", "OPTIONS", "REGISTER")
    ]
    runs.append([svwar, "-p", str(target.port), "-e", "100-160", "-m", "INVITE", HOST])
    for cmd in runs:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=workdir("svtools"))
        assert target.alive(), f"the engine died during {' '.join(cmd[-4:])}: {done.stdout[-500:]}"
    assert fraud.received() == []
    _still_dials(target, workdir("callee"))


def test_presence_subscription_is_refused_and_never_notified(
    target: SipTarget,  # noqa: F811
    workdir: Callable[[str], Path],
) -> None:
    with Sipp("uac_subscribe.xml", workdir("prober"), remote=target.address) as prober:
        prober.wait(10)  # sipp counts the NOTIFY that never comes as a failed call: read its log
        logged = prober.logged()
    assert "FINAL=403" in logged and "NOTIFIED" not in logged, logged
