"""Configuration of one SIP engine (one telephony worker process)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: Compiled into the pjsua2-python wheel (PJSUA_MAX_CALLS): a 5th call fails whatever the config says.
MAX_CALLS_PER_PROCESS = 4


@dataclass(frozen=True)
class Registration:
    """Register with a registrar (a trunk or PBX) using digest credentials."""

    registrar_uri: str
    username: str
    #: Kept out of ``repr``: a logged config must never show it.
    password: str = field(repr=False)
    realm: str = "*"
    #: The address of record; defaults to ``sip:<username>@<registrar host>``.
    aor: str | None = None
    timeout_s: int = 300


@dataclass(frozen=True)
class SipConfig:
    """Everything the engine needs to reach a trunk.

    ``rtp_port``/``rtp_port_range`` give each worker its own RTP ports (two per call: RTP and RTCP).
    ``recordings_dir`` set: every answered call is recorded as a stereo WAV (callee left, robot right).
    """

    bind_address: str = "127.0.0.1"
    sip_port: int = 5060
    enable_tcp: bool = False
    #: The address written in Contact/SDP when different from ``bind_address`` (NAT, container).
    public_address: str | None = None
    rtp_port: int = 40000
    rtp_port_range: int = 100
    #: The default caller ID (user part or full URI) used when ``dial`` gets none (with a
    #: registration the registered AOR is used instead). Each distinct caller ID is one pjsua account.
    caller_id: str = "waihu"
    display_name: str | None = None
    registration: Registration | None = None
    #: Optional outbound proxy URI, e.g. ``sip:proxy.example.com;lr``.
    outbound_proxy: str | None = None
    recordings_dir: Path | None = None
    #: Sent in User-Agent/Server headers. Deliberately generic: announcing the product and its
    #: version to anyone who sends OPTIONS helps an attacker pick exploits.
    user_agent: str = "SIP UA"
    #: pjsip log verbosity on stderr (0: none, 1: errors, 3: info, 5: debug).
    pj_log_level: int = 1
    codecs: tuple[str, ...] = ("PCMU/8000", "PCMA/8000")
    #: How often the pjsua2 thread polls its sockets and command queue (ms).
    poll_ms: int = 5
    extra_headers: dict[str, str] = field(default_factory=dict)
    #: Answer incoming calls (200 OK after ``answer_after_s``) and hand them out by
    #: :meth:`SipEngine.next_incoming`. For test peers (scripted customers) only: a robot leaves it off
    #: and refuses every incoming call (an outbound robot is nobody's destination).
    answer_incoming: bool = False
    answer_after_s: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.sip_port < 65536:
            raise ValueError(f"sip_port out of range: {self.sip_port}")
        if self.rtp_port_range < 2 * MAX_CALLS_PER_PROCESS + 4:
            raise ValueError("rtp_port_range too small for 4 calls (RTP+RTCP each, plus a bridged seat)")
