"""A worker's SIP trunk: registration, outbound proxy, public address, transport, caller ID.

Read from a TOML or YAML file (``waihu worker --sip-config trunk.toml``) and/or command-line options
(which win). The password never sits in the file: it comes from a password file or an environment
variable, and it is kept out of every ``repr`` and log line.

.. code-block:: toml

    uri = "sip:{number}@trunk.example.com"      # the dial template
    registrar = "sip:trunk.example.com"
    username = "4008001234"
    password_file = "/etc/waihu/sip-password"   # or password_env = "WAIHU_SIP_PASSWORD" (the default)
    outbound_proxy = "sip:sbc.example.com;lr"
    public_address = "203.0.113.7"
    transport = "tcp"
    caller_id = "4008001234"
    display_name = "某银行"
    name = "carrier-a"                          # the trunk's name: workers on one trunk share its limits
    max_lines = 30                              # calls in progress on the trunk, all workers together
    max_cps = 5                                 # call starts per second on the trunk, all workers together
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from waihu.service.trunk_limits import MAX_CPS, MAX_LINES, TRUNK_NAME_PATTERN

#: Where the password comes from when neither the file nor the options name a source.
DEFAULT_PASSWORD_ENV = "WAIHU_SIP_PASSWORD"


class TrunkError(ValueError):
    """A trunk setting is wrong; the message names the setting."""


class TrunkSettings(BaseModel):
    """What a worker needs to use a carrier trunk or PBX (all optional: loopback peers need none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The dial template with ``{number}`` (digits, no ``+``); the ``--trunk`` option's value.
    uri: str | None = None
    registrar: str | None = None
    username: str | None = None
    password: str | None = Field(default=None, repr=False, exclude=True)
    password_file: Path | None = None
    password_env: str | None = None
    realm: str = "*"
    #: Address of record; default ``sip:<username>@<registrar host>``.
    aor: str | None = None
    register_expires_s: int = Field(default=300, ge=60, le=86_400)
    outbound_proxy: str | None = None
    #: The address written in Contact, Via and SDP (NAT, container); bound locally is ``--bind``.
    public_address: str | None = None
    transport: Literal["udp", "tcp"] = "udp"
    #: The caller number when the campaign has none (user part or full URI).
    caller_id: str | None = None
    display_name: str | None = None
    #: The trunk's name: the line cap and CPS below are shared (in the database) by its workers.
    name: str | None = Field(default=None, pattern=TRUNK_NAME_PATTERN)
    # strict: a quoted number or a boolean in the file is a mistake, not a limit
    max_lines: int | None = Field(default=None, ge=1, le=MAX_LINES, strict=True)
    max_cps: int | None = Field(default=None, ge=1, le=MAX_CPS, strict=True)

    @field_validator("max_lines", "max_cps")
    @classmethod
    def _limits_need_a_name(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("name") is None:
            raise ValueError("a trunk's limits are shared by name: set name (--trunk-name) too")
        return value

    @field_validator("uri", "registrar", "outbound_proxy", "aor")
    @classmethod
    def _sip_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sip:", "sips:")):
            raise ValueError("must be a SIP URI starting with sip: (e.g. sip:trunk.example.com)")
        return value

    @field_validator("public_address")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(ch in value for ch in " ;:@<>")):
            raise ValueError("must be a bare host name or IP address (no port, no scheme)")
        return value

    def with_overrides(self, **values: Any) -> TrunkSettings:
        """These settings with the given non-None values replacing theirs (command-line options)."""
        merged = self.model_dump(exclude_none=True) | {k: v for k, v in values.items() if v is not None}
        if self.password is not None and "password" not in values:
            merged["password"] = self.password
        return checked(merged, "option")

    def resolved_password(self) -> str | None:
        """The registration password: explicit, else the password file, else the environment variable."""
        if self.password is not None:
            return self.password
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise TrunkError(f"password_file: cannot read {self.password_file}: {exc.strerror}") from None
        if self.password_env is None:
            from waihu_env import environment

            secret = environment().sip_password
            return secret.get_secret_value() if secret is not None else None
        value = os.environ.get(self.password_env)  # a variable the operator named: not a WAIHU_* one
        if value is None:
            raise TrunkError(f"password_env: the environment variable {self.password_env} is not set")
        return value

    def registration(self) -> Any:
        """The :class:`telephony.Registration` to use, or None without a registrar."""
        if self.registrar is None:
            return None
        from telephony import Registration

        if not self.username:
            raise TrunkError("username: a registrar needs a username")
        password = self.resolved_password()
        if password is None:
            raise TrunkError(
                f"password: set {DEFAULT_PASSWORD_ENV}, password_env or password_file for the registrar"
            )
        return Registration(
            with_transport(self.registrar, self.transport),
            self.username,
            password,
            realm=self.realm,
            aor=self.aor,
            timeout_s=self.register_expires_s,
        )

    def sip_config(self, **engine: Any) -> Any:
        """A :class:`telephony.SipConfig` with these trunk settings; ``engine``: ports, bind, etc."""
        from telephony import SipConfig

        if self.caller_id is not None:
            engine["caller_id"] = self.caller_id
        return SipConfig(
            **engine,
            enable_tcp=self.transport == "tcp",
            public_address=self.public_address,
            display_name=self.display_name,
            registration=self.registration(),
            outbound_proxy=with_transport(self.outbound_proxy, self.transport)
            if self.outbound_proxy
            else None,
        )

    @property
    def dial_transport(self) -> str:
        """The transport parameter dialled URIs need: ``tcp`` only without an outbound proxy.

        Through a proxy the proxy's URI picks the first hop; a ``;transport=tcp`` on the
        Request-URI would instead tell the proxy to reach the callee over TCP.
        """
        return self.transport if self.outbound_proxy is None else "udp"

    def describe(self) -> str:
        """One log line (no password): registrar, user, proxy, transport, public address."""
        parts = [f"transport {self.transport}"]
        if self.registrar:
            parts.append(f"registrar {self.registrar} as {self.username}")
        if self.outbound_proxy:
            parts.append(f"proxy {self.outbound_proxy}")
        if self.public_address:
            parts.append(f"public address {self.public_address}")
        return ", ".join(parts)


def with_transport(uri: str, transport: str) -> str:
    """``uri`` with ``;transport=<transport>`` added when it is TCP and the URI names none."""
    if transport == "udp" or ";transport=" in uri.lower():
        return uri
    head, sep, headers = uri.partition("?")
    return f"{head};transport={transport}{sep}{headers}"


def checked(values: dict[str, Any], origin: str) -> TrunkSettings:
    """Validate trunk settings; a bad one raises :class:`TrunkError` naming it."""
    try:
        return TrunkSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or origin}: {err['msg']}" for err in exc.errors()
        )
        raise TrunkError(problems) from None


def load_trunk_file(path: Path) -> TrunkSettings:
    """Read trunk settings from TOML (``.toml``) or YAML; a literal password in the file is refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TrunkError(f"{path}: {exc.strerror}") from None
    try:
        data: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise TrunkError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise TrunkError(f"{path}: expected a mapping of trunk settings")
    if "password" in data:
        raise TrunkError(f"{path}: password: keep it out of the file; use password_file or password_env")
    settings = checked(data, str(path))
    if settings.password_file is not None and not settings.password_file.is_absolute():
        # Relative to the config file, not to wherever the worker happens to start.
        settings = settings.model_copy(update={"password_file": path.parent / settings.password_file})
    return settings
