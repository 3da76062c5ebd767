"""`waihu worker` on a real trunk: Kamailio on loopback as registrar (digest auth) and outbound proxy.

Real pieces only: the `waihu worker` process, SQLite, Kamailio (Debian ``kamailio``) and a sipp
customer behind it. The worker registers, a campaign call goes through the proxy to the customer
with the campaign's caller number, and a wrong password is a clear error in the worker's output, its
exit status and its status file, with no contact claimed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from sip_peers.peers import HOST, Sipp, free_udp_port, tone, write_ulaw_for_sipp
from tests.conftest import ROOT
from tests.service.helpers import make_campaign
from tests.telephony.kamailio import Kamailio
from waihu.service.db import open_database
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Attempt, Contact

CUSTOMER_SCENARIO = Path(__file__).resolve().parent / "kamailio" / "customer.xml"
PHONE = "13800002101"
PASSWORD = "s3cret-Trunk"


def _database(tmp_path: Path) -> str:
    db_url = f"sqlite:///{tmp_path / 'trunk.db'}"
    _engine, factory = open_database(db_url)
    with factory() as session:
        campaign = make_campaign(session, caller_numbers=["+862100000001"])
        row = RawRow(1, {"reference_id": "r1", "phone": PHONE, "name": "张先生"})
        import_contacts(session, campaign.id, [row])
        session.commit()
    return db_url


def _worker(db_url: str, log: Path, *options: str, password: str | None) -> subprocess.Popen[bytes]:
    # The robot's voice is not what these tests are about; wide lines keep messages whole.
    env = {**os.environ, "WAIHU_TTS": "espeak", "COLUMNS": "250"}
    env.pop("WAIHU_SIP_PASSWORD", None)
    if password is not None:
        env["WAIHU_SIP_PASSWORD"] = password
    command = [sys.executable, "-m", "waihu.cli", "worker", "--db", db_url, "--classifier", "rules",
               "--sip-port", str(free_udp_port()), "--rtp-port", str(free_udp_port(40)),
               "--ring-timeout", "5", "--lease-s", "30", *options]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait(predicate, timeout_s: float, what: str, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


def _status(path: Path) -> dict[str, object]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_worker_registers_and_calls_through_the_proxy(tmp_path: Path, transport: str) -> None:
    db_url = _database(tmp_path)
    _engine, factory = open_database(db_url)
    log, status = tmp_path / "worker.log", tmp_path / "status.json"
    write_ulaw_for_sipp(tmp_path / "callee.ulaw", tone(1000.0, 4.0))
    with (
        Kamailio(tmp_path, password=PASSWORD) as trunk,
        Sipp(str(CUSTOMER_SCENARIO), tmp_path, wav=tmp_path / "callee.ulaw", timeout_s=60) as customer,
    ):
        if transport == "tcp":  # everything on the command line
            options = ["--registrar", trunk.uri, "--sip-user", "robot", "--outbound-proxy", f"{trunk.uri};lr",
                       "--trunk", f"sip:{{number}}@{HOST}:{customer.port}", "--display-name", "Bank",
                       "--transport", "tcp"]  # fmt: skip
            password: str | None = PASSWORD
        else:  # a trunk file, the password in a file beside it, a public address other than the bound one
            (tmp_path / "sip-password").write_text(PASSWORD + "\n")
            (tmp_path / "trunk.toml").write_text(
                f'uri = "sip:{{number}}@{HOST}:{customer.port}"\nregistrar = "{trunk.uri}"\n'
                f'username = "robot"\npassword_file = "sip-password"\noutbound_proxy = "{trunk.uri};lr"\n'
                'public_address = "127.0.0.2"\ntransport = "udp"\ndisplay_name = "Bank"\n'
            )
            options = ["--sip-config", str(tmp_path / "trunk.toml"), "--bind", "0.0.0.0"]
            password = None
        worker = _worker(db_url, log, *options, "--status-file", str(status), password=password)
        try:
            _wait(lambda: _status(status).get("state") == "registered", 45, "the registration", log)

            def done() -> bool:
                with factory() as session:
                    return session.scalars(select(Contact)).one().state == "done"

            try:
                _wait(done, 90, "the call to finish", log)
            except AssertionError as exc:  # what the trunk and the customer saw, for the diagnosis
                raise AssertionError(
                    f"{exc}\nkamailio: {trunk.log()[-3000:]}\nsipp: {customer.logged()}"
                ) from None
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        assert customer.wait(10) == 0, customer.out_file.read_text(errors="replace")[-2000:]
        registers, invites = trunk.lines("REGISTER"), trunk.lines("INVITE")
        kamailio_log = trunk.log()[-3000:]
    assert registers and all(f"user=robot proto={transport}" in r for r in registers), kamailio_log
    if transport == "udp":
        assert "@127.0.0.2:" in registers[0], registers  # the public address, not the bound 0.0.0.0
    # The INVITE went through the proxy with the trunk's credentials and the campaign's caller number.
    assert len(invites) == 1 and f"proto={transport}" in invites[0], invites
    assert "from=sip:+862100000001@" in invites[0] and f"to=sip:86{PHONE}@" in invites[0], invites
    logged = customer.logged()
    assert f"CALLED=86{PHONE}" in logged and "RELAYED= kamailio" in logged, logged
    assert '"Bank" <sip:+862100000001@' in logged, logged
    with factory() as session:
        (attempt,) = session.scalars(select(Attempt)).all()
        contact = session.scalars(select(Contact)).one()
    assert (attempt.outcome, attempt.hangup_by, contact.final_outcome) == ("answered", "callee", "answered")
    assert _status(status)["state"] == "stopped"
    output = log.read_text(errors="replace")
    assert PASSWORD not in output and PASSWORD not in status.read_text()


def test_wrong_password_is_a_clear_error_and_claims_nothing(tmp_path: Path) -> None:
    db_url = _database(tmp_path)
    _engine, factory = open_database(db_url)
    log, status = tmp_path / "worker.log", tmp_path / "status.json"
    with Kamailio(tmp_path, password=PASSWORD) as trunk:
        options = ["--registrar", trunk.uri, "--sip-user", "robot", "--outbound-proxy", f"{trunk.uri};lr",
                   "--status-file", str(status)]  # fmt: skip
        worker = _worker(db_url, log, *options, password="not-the-password")
        try:
            code = worker.wait(45)
        finally:
            if worker.poll() is None:
                worker.kill()
        failures = trunk.lines("AUTH-FAILED")
    output = log.read_text(errors="replace")
    assert code == 3, output[-3000:]
    assert f"registration refused by {trunk.uri}: 401 Unauthorized" in output, output[-3000:]
    assert "check the SIP username and password" in output
    state = _status(status)
    assert (state["state"], state["sip_code"]) == ("registration_failed", 401), state
    assert "check the SIP username and password" in str(state["detail"])
    assert failures and "wrong password" in failures[0], trunk.log()[-3000:]
    assert "not-the-password" not in output and "not-the-password" not in status.read_text()
    with factory() as session:  # nothing was claimed: the contact waits for a worker that can call
        assert session.scalars(select(Attempt)).all() == []
        assert session.scalars(select(Contact)).one().state == "pending"


def test_trunk_settings_errors_name_the_setting(tmp_path: Path) -> None:
    """Bad trunk settings stop the worker before it starts, naming the setting (no Kamailio needed)."""
    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    log = tmp_path / "worker.log"
    (tmp_path / "bad.toml").write_text('registrar = "sip:127.0.0.1:5999"\nusername = "u"\npassword = "p"\n')
    worker = _worker(db_url, log, "--sip-config", str(tmp_path / "bad.toml"), password=None)
    assert worker.wait(30) == 2
    assert "password: keep it out of the file" in log.read_text(errors="replace")
