"""Phrase rules: carrier announcements and voicemail keywords, with Whisper's homophones."""

from __future__ import annotations

import pytest

from waihu.cpa.phrases import classify_announcement, matches, voicemail_phrase


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("您拨打的号码是空号，请查证后再拨。", "invalid_number"),
        ("您拨打的号码是控号", "invalid_number"),  # homophone: matched on pinyin
        ("对不起，您拨打的号码不存在", "invalid_number"),
        ("您拨打的电话已关机", "powered_off"),
        ("您拨打的电话已观机", "powered_off"),
        ("Sorry, the subscriber you dialed is powered off.", "powered_off"),
        ("您拨打的电话已停机", "suspended"),
        ("您拨打的電話已停機", "suspended"),  # traditional characters
        ("您拨打的电话暂时无法接通，请稍后再拨", "unreachable"),
        ("对不起，您拨打的用户不在服务区", "unreachable"),
        ("您拨打的电话正在通话中", "busy"),
        ("Sorry, the subscriber you dialed is busy now.", "busy"),
        ("您拨打的电话暂时无人接听", "no_answer"),
    ],
)
def test_announcements_are_classified(text: str, label: str) -> None:
    match = classify_announcement([text])
    assert match is not None and match.label == label, match


@pytest.mark.parametrize(
    "text",
    ["欢迎您使用彩铃业务，祝您生活愉快。", "您拨打的电话", "喂，你好", "请稍后再拨", ""],
)
def test_other_early_media_decides_nothing(text: str) -> None:
    assert classify_announcement([text]) is None


def test_any_hypothesis_of_an_n_best_list_may_match() -> None:
    match = classify_announcement(["您拨打的电话一关", "您拨打的电话已关机"])
    assert match is not None and match.label == "powered_off"


def test_english_phrases_match_whole_words_only() -> None:
    assert matches("the line is busy", "is busy")
    assert not matches("this business line", "is busy")


@pytest.mark.parametrize(
    "text",
    [
        "您好，我现在不方便接听，请在提示音后留言",
        "您拨打的用户无法接听，请语音留言",
        "Please leave a message after the beep",
    ],
)
def test_voicemail_keywords(text: str) -> None:
    assert voicemail_phrase([text]) is not None


@pytest.mark.parametrize("text", ["喂？你好", "你好，哪位？", "喂，请问是谁"])
def test_human_pickups_have_no_voicemail_keyword(text: str) -> None:
    assert voicemail_phrase([text]) is None


def test_sound_checks_tell_a_mishearing_from_a_prompt_echo() -> None:
    from waihu.cpa.phrases import phrase_support, sound_similarity

    # Whisper without the prompt misheard the real announcement: the sound is still there.
    assert sound_similarity("您拨打的号码是空号", "宁博打得浩马吃恐厚") >= 0.45
    assert phrase_support("空号", "宁博打得浩马吃恐厚") >= 0.5
    assert phrase_support("关机", "您不打的电话已关系") >= 0.5
    # With the prompt, Whisper wrote the prompt back over other speech: the sound is not there.
    assert sound_similarity("您拨打的号码是空号", "欢迎您使用彩") < 0.45
    assert phrase_support("停机", "您拨打的电话暂时") < 0.5
