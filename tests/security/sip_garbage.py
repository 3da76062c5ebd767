"""Malformed and hostile SIP datagrams, as a fuzzer or a careless peer would send them."""

from __future__ import annotations


def _request(method: str, headers: str, body: bytes = b"", first: str | None = None) -> bytes:
    line = first or f"{method} sip:robot@127.0.0.1 SIP/2.0"
    return (line + "\r\n" + headers + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


BASE = (
    "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{n}\r\n"
    "From: <sip:fuzz@127.0.0.1>;tag={n}\r\n"
    "To: <sip:robot@127.0.0.1>\r\n"
    "Call-ID: fuzz-{n}@127.0.0.1\r\n"
    "CSeq: 1 {m}\r\n"
    "Max-Forwards: 70\r\n"
)
SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"


def payloads() -> list[tuple[str, bytes]]:
    """(name, datagram) pairs; each must get at most a 4xx/5xx and never crash or dial anything."""
    b = [
        ("empty", b""),
        ("crlf keep-alive", b"\r\n\r\n"),
        ("binary noise", bytes(range(256)) * 4),
        ("not sip", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("no headers", b"INVITE sip:robot@127.0.0.1 SIP/2.0\r\n\r\n"),
        ("bad version", _request("INVITE", BASE.format(n=1, m="INVITE"), first="INVITE sip:x SIP/9.9")),
        ("bad uri", _request("INVITE", BASE.format(n=2, m="INVITE"), first="INVITE ::::: SIP/2.0")),
        ("cseq mismatch", _request("INVITE", BASE.format(n=3, m="BYE"))),
        ("negative length", _request("INVITE", BASE.format(n=4, m="INVITE")).replace(
            b"Content-Length: 0", b"Content-Length: -5")),
        ("length beyond body", _request("INVITE", BASE.format(n=5, m="INVITE") + "Content-Type: application/sdp\r\n",
                                        SDP).replace(b"Content-Length: %d" % len(SDP), b"Content-Length: 99999")),
        ("garbage sdp", _request("INVITE", BASE.format(n=6, m="INVITE") + "Content-Type: application/sdp\r\n",
                                 b"v=9\r\nm=audio x y z\r\n" * 20)),
        ("sdp no media", _request("INVITE", BASE.format(n=7, m="INVITE") + "Content-Type: application/sdp\r\n",
                                  b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")),
        ("huge header", _request("INVITE", BASE.format(n=8, m="INVITE") + "X-Big: " + "A" * 60000 + "\r\n")),
        ("many vias", _request("OPTIONS", "".join(
            f"Via: SIP/2.0/UDP 10.0.0.{i % 250}:5060;branch=z9hG4bK{i}\r\n" for i in range(300))
            + BASE.format(n=9, m="OPTIONS"))),
        ("replaces unknown dialog", _request("INVITE", BASE.format(n=10, m="INVITE")
            + "Replaces: nope@x;to-tag=a;from-tag=b\r\nContent-Type: application/sdp\r\n", SDP)),
        ("refer out of dialog", _request("REFER", BASE.format(n=11, m="REFER")
            + "Refer-To: <sip:0900123456@127.0.0.1:9>\r\n")),
        ("bye unknown dialog", _request("BYE", BASE.format(n=12, m="BYE"))),
        ("cancel unknown", _request("CANCEL", BASE.format(n=13, m="CANCEL"))),
        ("ack alone", _request("ACK", BASE.format(n=14, m="ACK"))),
        ("notify unsolicited", _request("NOTIFY", BASE.format(n=15, m="NOTIFY") + "Event: refer\r\n"
            + "Subscription-State: active\r\nContent-Type: message/sipfrag\r\n", b"SIP/2.0 200 OK\r\n")),
        ("message", _request("MESSAGE", BASE.format(n=16, m="MESSAGE") + "Content-Type: text/plain\r\n", b"hi")),
        ("register to robot", _request("REGISTER", BASE.format(n=17, m="REGISTER")
            + "Contact: <sip:x@127.0.0.1:9>\r\nExpires: 3600\r\n")),
        ("info unknown", _request("INFO", BASE.format(n=18, m="INFO"))),
        ("update unknown", _request("UPDATE", BASE.format(n=19, m="UPDATE"))),
        ("prack unknown", _request("PRACK", BASE.format(n=20, m="PRACK") + "RAck: 1 1 INVITE\r\n")),
        ("unknown method", _request("FROBNICATE", BASE.format(n=21, m="FROBNICATE"))),
        ("response to nothing", b"SIP/2.0 200 OK\r\n" + BASE.format(n=22, m="INVITE").encode()
            + b"Content-Length: 0\r\n\r\n"),
        ("nul bytes in headers", _request("OPTIONS", BASE.format(n=23, m="OPTIONS").replace("fuzz", "fu\0zz"))),
        ("utf-8 everywhere", _request("OPTIONS", BASE.format(n=24, m="OPTIONS") + "Subject: 信用卡\u202e\r\n")),
    ]  # fmt: skip
    return b
