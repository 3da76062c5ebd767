"""What a callee sounds like right after the answer: people picking up, and answering machines.

Test audio for answering-machine detection, made by waihu itself (Kokoro voices, cached like the
announcements): short pickups ("喂？你好") followed by the silence of a person waiting, and voicemail
greetings with or without a beep after them.
"""

from __future__ import annotations

from sip_peers.early_media import ANNOUNCER_VOICES, Announcement, synthesise
from waihu.cpa.tones import silence, tone

#: People answering the phone (Mandarin and English).
HUMAN_PICKUPS: tuple[str, ...] = (
    "喂？",
    "喂，你好。",
    "你好，哪位？",
    "喂，请问是谁？",
    "喂，您好。",
    "哎，你好。",
)

#: Answering machines and carrier voicemail greetings.
MACHINE_GREETINGS: tuple[str, ...] = (
    "您好，我现在不方便接听电话，请在提示音后留言。",
    "您好，您拨打的用户无法接听，请在嘀声后留言。",
    "你好，我是小王，现在不在，有事请留言。",
    "欢迎使用语音信箱，请在提示音后开始录音。",
    "您好，机主暂时无法接听您的电话，请留言，我会尽快回复。",
    "您好，这里是星河贸易公司，我们的工作时间是周一至周五上午九点到下午六点。",
)

BEEP_HZ = 1000.0


def pickup_audio(text: str, voice: str) -> bytes:
    """A person answers: a short greeting, then silence (waiting for the caller) for 4 s."""
    return silence(0.3) + synthesise(Announcement("human", text), voice) + silence(4.0)


def machine_audio(text: str, voice: str, *, beep: bool) -> bytes:
    """A machine answers: its greeting, optionally a 0.5 s 1 kHz beep, then silence (recording)."""
    greeting = synthesise(Announcement("voicemail", text), voice)
    tail = silence(0.3) + tone(BEEP_HZ, 0.5) if beep else b""
    return silence(0.3) + greeting + tail + silence(3.0)


def voices() -> tuple[str, ...]:
    """The Kokoro voices the callees speak with (the announcers')."""
    return ANNOUNCER_VOICES
