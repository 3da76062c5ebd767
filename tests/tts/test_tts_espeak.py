"""espeak-ng through pyttsx3: Mandarin and English synthesis, plausibility, intelligibility, cache."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from tts.audio import rms_dbfs
from tts.base import Audio, Synthesizer
from tts.cache import PromptCache
from tts.espeak import EspeakSynthesizer

ZH = "您好，这里是信用卡中心，请问您现在方便接听电话吗？"
EN = "Hello, this is your bank calling about your credit card."


def voiced_fraction(audio: Audio) -> float:
    """Fraction of 20 ms frames louder than -40 dBFS."""
    x = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float64) / 32768
    n = audio.sample_rate // 50
    frames = x[: len(x) // n * n].reshape(-1, n)
    return float(np.mean(np.sqrt(np.mean(frames**2, axis=1)) > 0.01))


def test_protocol_and_version(espeak: EspeakSynthesizer) -> None:
    assert isinstance(espeak, Synthesizer)
    assert "espeak-ng 1.52" in espeak.version  # the bundled library, not Debian's 1.51


@pytest.mark.parametrize(("text", "language", "lo", "hi"), [(ZH, "zh", 3.0, 10.0), (EN, "en", 2.0, 6.0)])
def test_synthesis_is_plausible(
    espeak: EspeakSynthesizer, text: str, language: str, lo: float, hi: float
) -> None:
    audio = espeak.synthesize(text, language=language)
    assert audio.sample_rate == 8000
    assert lo < audio.duration_s < hi
    assert -35 < rms_dbfs(audio) < -6
    assert 0.4 < voiced_fraction(audio) < 0.98
    # espeak-ng adds random noise (not bit-exact), but the same text gives the same length
    assert espeak.synthesize(text, language=language).duration_s == pytest.approx(audio.duration_s, abs=0.05)


def test_mandarin_voice_reads_characters_not_pinyin_digits(espeak: EspeakSynthesizer) -> None:
    """Debian's 1.51 cmn read tone digits aloud: 4 characters must not take longer than ~2 s."""
    assert espeak.synthesize("你好", language="zh").duration_s < 1.5
    assert espeak.synthesize("你好你好你好你好", language="zh").duration_s > 1.5


def test_rate_changes_duration(espeak: EspeakSynthesizer) -> None:
    slow = espeak.synthesize(EN, language="en", rate=110).duration_s
    fast = espeak.synthesize(EN, language="en", rate=220).duration_s
    assert fast < 0.7 * slow


def test_native_rate_and_16k() -> None:
    native = EspeakSynthesizer(sample_rate=None).synthesize("Yes.", language="en")
    assert native.sample_rate == 22050
    wide = EspeakSynthesizer(sample_rate=16000).synthesize("Yes.", language="en")
    assert wide.sample_rate == 16000
    assert wide.duration_s == pytest.approx(native.duration_s, abs=0.002)


def test_empty_text(espeak: EspeakSynthesizer) -> None:
    assert espeak.synthesize("  ", language="zh").pcm == b""


def test_thread_safe(espeak: EspeakSynthesizer) -> None:
    texts = [f"Number {i}." for i in range(6)]
    texts += ["Zero.", "A much longer sentence than all the other ones in this test."]
    expected = {t: espeak.synthesize(t, language="en").duration_s for t in texts}
    results: dict[str, float] = {}

    def work(t: str) -> None:
        results[t] = espeak.synthesize(t, language="en").duration_s

    threads = [threading.Thread(target=work, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.keys() == expected.keys()
    for t in texts:  # each thread got the audio of its own text (espeak-ng is not bit-exact: compare lengths)
        assert results[t] == pytest.approx(expected[t], abs=0.05), t


def test_stdout_is_clean(espeak: EspeakSynthesizer, capfd: pytest.CaptureFixture[str]) -> None:
    espeak.synthesize("Quiet please.", language="en")
    assert "Audio saved" not in capfd.readouterr().out


class CountingSynth:
    """Wraps a synthesiser and counts calls."""

    def __init__(self, inner: EspeakSynthesizer) -> None:
        self.inner = inner
        self.version = inner.version
        self.calls = 0

    def voice_for(self, language: str) -> str:
        return self.inner.voice_for(language)

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Audio:
        self.calls += 1
        return self.inner.synthesize(text, language=language, rate=rate)


def test_cache_hit_is_identical_and_does_not_synthesise(espeak: EspeakSynthesizer, tmp_path: Path) -> None:
    synth = CountingSynth(espeak)
    cache = PromptCache(tmp_path, synth)
    first = cache.get(ZH, language="zh", sample_rate=8000)
    assert synth.calls == 1
    second = PromptCache(tmp_path, synth).get(
        ZH, language="zh", sample_rate=8000
    )  # fresh instance: from disk
    assert synth.calls == 1
    assert second.pcm == first.pcm and second.sample_rate == 8000
    # any key component changes the entry
    assert cache.get(ZH, language="zh", sample_rate=16000).sample_rate == 16000
    cache.get(ZH, language="zh", rate=120, sample_rate=8000)
    cache.get(EN, language="en", sample_rate=8000)
    assert synth.calls == 4
    synth.version += "-changed"
    cache.get(ZH, language="zh", sample_rate=8000)
    assert synth.calls == 5
    files = list(tmp_path.rglob("*"))
    assert not [p for p in files if p.name.startswith(".")]  # no temporary files left
    assert len([p for p in files if p.suffix == ".wav"]) == 5


def test_cache_recovers_from_damaged_file(espeak: EspeakSynthesizer, tmp_path: Path) -> None:
    synth = CountingSynth(espeak)
    cache = PromptCache(tmp_path, synth)
    good = cache.get("Yes.", language="en")
    path = cache.path_for("Yes.", language="en", rate=None, sample_rate=8000)
    path.write_bytes(b"garbage")
    again = cache.get("Yes.", language="en")
    assert again.duration_s == pytest.approx(good.duration_s, abs=0.05)
    assert cache.get("Yes.", language="en").pcm == again.pcm  # rewritten, now a hit
    assert synth.calls == 2
