"""Trunk settings of `waihu worker`: files, options, the password's sources, the transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from waihu.calls.registration import explain, write_status
from waihu.calls.trunk import TrunkError, TrunkSettings, load_trunk_file, with_transport
from waihu.calls.worker import DialPlan
from waihu_env import reload_environment

pytestmark = pytest.mark.unit


def test_toml_and_yaml_files_give_the_same_settings(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text(
        'registrar = "sip:trunk.example.com"\nusername = "u1"\npassword_file = "pw"\ntransport = "tcp"\n'
        'outbound_proxy = "sip:sbc.example.com;lr"\npublic_address = "203.0.113.7"\n'
    )
    (tmp_path / "t.yaml").write_text(
        "registrar: sip:trunk.example.com\nusername: u1\npassword_file: pw\ntransport: tcp\n"
        "outbound_proxy: sip:sbc.example.com;lr\npublic_address: 203.0.113.7\n"
    )
    (tmp_path / "pw").write_text("secret\n")
    toml, yaml = load_trunk_file(tmp_path / "t.toml"), load_trunk_file(tmp_path / "t.yaml")
    assert toml == yaml and toml.password_file == tmp_path / "pw"  # relative to the file
    reg = toml.registration()
    assert (reg.registrar_uri, reg.username, reg.password) == (
        "sip:trunk.example.com;transport=tcp",
        "u1",
        "secret",
    )
    sip = toml.sip_config(sip_port=5090)
    assert sip.enable_tcp and sip.public_address == "203.0.113.7"
    assert sip.outbound_proxy == "sip:sbc.example.com;lr;transport=tcp"
    # Through a proxy the Request-URI keeps no transport (it would make the proxy reach the callee by TCP).
    assert toml.dial_transport == "udp" and TrunkSettings(transport="tcp").dial_transport == "tcp"
    assert "secret" not in repr(toml) + repr(sip) + repr(reg) + toml.describe()


def test_a_password_in_the_file_and_unknown_settings_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('registrar = "sip:t"\nusername = "u"\npassword = "p"\n')
    with pytest.raises(TrunkError, match="password: keep it out of the file"):
        load_trunk_file(bad)
    bad.write_text('registrar = "sip:t"\nproxy = "sip:p"\n')
    with pytest.raises(TrunkError, match="proxy: Extra inputs are not permitted"):
        load_trunk_file(bad)
    bad.write_text('registrar = "trunk.example.com"\n')
    with pytest.raises(TrunkError, match="registrar: Value error, must be a SIP URI"):
        load_trunk_file(bad)
    with pytest.raises(TrunkError, match="transport: Input should be 'udp' or 'tcp'"):
        TrunkSettings().with_overrides(transport="sctp")
    with pytest.raises(TrunkError, match="public_address: Value error, must be a bare host"):
        TrunkSettings().with_overrides(public_address="1.2.3.4:5060")


def test_the_password_comes_from_the_environment_or_a_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAIHU_SIP_PASSWORD", "from-env")
    reload_environment()
    try:
        settings = TrunkSettings(registrar="sip:t.example.com", username="u")
        assert settings.registration().password == "from-env"
        with pytest.raises(TrunkError, match="password_env: the environment variable TRUNK_PW is not set"):
            settings.with_overrides(password_env="TRUNK_PW").registration()
        monkeypatch.setenv("TRUNK_PW", "named")
        assert settings.with_overrides(password_env="TRUNK_PW").registration().password == "named"
        monkeypatch.delenv("WAIHU_SIP_PASSWORD")
        reload_environment()
        with pytest.raises(TrunkError, match="password: set WAIHU_SIP_PASSWORD"):
            settings.registration()
        with pytest.raises(TrunkError, match="username: a registrar needs a username"):
            TrunkSettings(registrar="sip:t.example.com").registration()
    finally:
        monkeypatch.delenv("WAIHU_SIP_PASSWORD", raising=False)
        reload_environment()


def test_options_override_the_file_and_tcp_reaches_the_dialled_uri() -> None:
    base = TrunkSettings(uri="sip:{number}@a.example.com", caller_id="1", transport="tcp")
    merged = base.with_overrides(uri=None, caller_id="2", display_name="Bank")
    assert (merged.uri, merged.caller_id, merged.display_name, merged.transport) == (
        "sip:{number}@a.example.com", "2", "Bank", "tcp")  # fmt: skip
    plan = DialPlan(
        trunk=merged.uri or "", routes={"+8613800000001": "sip:x@h;transport=udp"}, transport="tcp"
    )
    assert plan.uri_for("+8613800000002") == "sip:8613800000002@a.example.com;transport=tcp"
    assert plan.uri_for("+8613800000001") == "sip:x@h;transport=udp"  # a route that names one keeps it
    assert with_transport("sip:a@b?X-H=1", "tcp") == "sip:a@b;transport=tcp?X-H=1"
    assert with_transport("sip:a@b", "udp") == "sip:a@b"


def test_status_file_and_messages_for_the_operator(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    write_status(path, "w1", "registration_failed", sip_code=401, reason="Unauthorized")
    record = json.loads(path.read_text())
    assert (record["worker_id"], record["state"], record["sip_code"]) == ("w1", "registration_failed", 401)
    assert "check the SIP username and password" in explain("sip:t", 401, "Unauthorized")
    assert "got no answer" in explain("sip:t", 408, "Request Timeout")
