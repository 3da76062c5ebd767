"""A carrier on loopback: sipp answering with early media (announcements, tones), then a final code.

Announcements are synthesised by waihu itself (Kokoro, several voices and wordings, optionally an
English sentence after the Mandarin one, optionally after a ring-back tone) and cached in
``<data dir>/cache/announcements``; the sipp scenario ``uas_early_media.xml`` is a template filled
per call (how long to play before the final response, which response).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from sip_peers.peers import SCENARIOS, write_ulaw_for_sipp
from waihu.cpa.tones import busy_tone, ringback, silence

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000


@dataclass(frozen=True)
class Announcement:
    """One test announcement: the class it must land on, its Mandarin text, an optional English tail."""

    label: str
    text: str
    english: str = ""


#: What mainland carriers say, in several wordings per class (the class is the expected outcome).
ANNOUNCEMENTS: tuple[Announcement, ...] = (
    Announcement("invalid_number", "您拨打的号码是空号，请查证后再拨。"),
    Announcement("invalid_number", "对不起，您拨打的号码不存在，请核对后再拨。"),
    Announcement(
        "invalid_number", "您好，您拨打的号码是空号。", "Sorry, the number you dialed does not exist."
    ),
    Announcement("powered_off", "您拨打的电话已关机。"),
    Announcement("powered_off", "对不起，您拨打的用户已关机，请稍后再拨。"),
    Announcement(
        "powered_off", "您好，您拨打的电话已关机。", "Sorry, the subscriber you dialed is powered off."
    ),
    Announcement("suspended", "您拨打的电话已停机。"),
    Announcement("suspended", "对不起，您拨打的号码已停机。"),
    Announcement("suspended", "您好，您拨打的用户已欠费停机。"),
    Announcement("unreachable", "您拨打的电话暂时无法接通，请稍后再拨。"),
    Announcement("unreachable", "对不起，您拨打的用户不在服务区。"),
    Announcement(
        "unreachable",
        "您好，您拨打的电话暂时无法接通。",
        "Sorry, the number you dialed cannot be connected at the moment.",
    ),
    Announcement("busy", "您拨打的电话正在通话中，请稍后再拨。"),
    Announcement("busy", "对不起，您拨打的用户正忙，请稍后再拨。"),
    Announcement("busy", "您好，您拨打的电话正在通话中。", "Sorry, the subscriber you dialed is busy now."),
)

#: Early media that must decide nothing: a colour ring-back (彩铃) greeting.
NOT_ANNOUNCEMENTS: tuple[Announcement, ...] = (
    Announcement("", "欢迎您使用彩铃业务，祝您生活愉快。"),
    Announcement("", "您好，欢迎致电，我们的产品让生活更美好。"),
)

#: Mandarin Kokoro voices the carriers speak with (the robot's own default is zf_xiaoyi).
ANNOUNCER_VOICES: tuple[str, ...] = ("zf_xiaobei", "zm_yunjian", "zf_xiaoni", "zm_yunyang", "zf_xiaoxiao")
ENGLISH_VOICE = "af_heart"


def _cache_dir() -> Path:
    from nlu.paths import data_dir

    return data_dir() / "cache" / "announcements"


def synthesise(item: Announcement, voice: str) -> bytes:
    """8 kHz 16-bit mono PCM of ``item`` in ``voice`` (cached on disk; Kokoro must be prepared)."""
    from tts.audio import resample
    from tts.kokoro import KokoroSynthesizer

    key = hashlib.sha256(f"{item.text}|{item.english}|{voice}|{ENGLISH_VOICE}".encode()).hexdigest()[:16]
    path = _cache_dir() / f"{key}.pcm"
    if path.is_file():
        return path.read_bytes()
    synth = KokoroSynthesizer({"zh": voice, "en": ENGLISH_VOICE})
    pcm = resample(synth.synthesize(item.text, language="zh"), SAMPLE_RATE).pcm
    if item.english:
        pcm += silence(0.4) + resample(synth.synthesize(item.english, language="en"), SAMPLE_RATE).pcm
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(pcm)
    tmp.replace(path)
    return pcm


def early_media_audio(speech: bytes, *, ringback_cycles: int = 0, repeats: int = 1) -> bytes:
    """What the caller hears: ring-back cycles (450 Hz, 1 s on / 4 s off), then the announcement
    ``repeats`` times with a short pause between (carriers repeat it until they fail the call)."""
    lead = ringback(ringback_cycles) if ringback_cycles else silence(0.3)
    return lead + (speech + silence(0.8)) * repeats


def busy_tone_audio(cycles: int = 8) -> bytes:
    """A busy tone (China: 450 Hz, 0.35 s on / 0.35 s off)."""
    return silence(0.3) + busy_tone(cycles)


def render_scenario(workdir: Path, *, hold_ms: int, code: int, reason: str = "") -> Path:
    """Fill ``uas_early_media.xml``: after ``hold_ms`` send ``code`` (200 answers, 0 rings on)."""
    template = (SCENARIOS / "uas_early_media.xml").read_text(encoding="iso-8859-1")
    if code == 0:
        final, hold_ms = "", 600_000
    elif code == 200:
        final = _ANSWER
    else:
        final = _REJECT.replace("{code}", str(code)).replace("{reason}", reason or "Failed")
    text = template.replace("{hold_ms}", str(hold_ms)).replace("{final}", final)
    path = workdir / f"uas_early_media_{code}.xml"
    path.write_text(text, encoding="iso-8859-1")
    return path


def write_callee_audio(workdir: Path, pcm: bytes) -> Path:
    """The early media as headerless mu-law for sipp's ``rtp_stream`` (see :class:`Sipp` ``wav``)."""
    return write_ulaw_for_sipp(workdir / "early.ulaw", pcm)


_REJECT = """  <send><![CDATA[
SIP/2.0 {code} {reason}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK"/>"""

_ANSWER = """  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000

]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>"""
