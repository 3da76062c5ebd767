"""TTS benchmark: synthesis time per prompt (espeak-ng), resampling cost and cache-hit time.

Usage: python bench/tts_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = {
    "zh": [
        "您好。",
        "您好，这里是信用卡中心，请问您现在方便接听电话吗？",
        "您本期账单金额较大，可以申请分期还款，每期手续费为百分之零点六，最长可分二十四期，请问您需要了解一下吗？",
    ],
    "en": [
        "Hello.",
        "Hello, this is your bank calling about your credit card.",
        "Your statement balance can be split into monthly instalments with a fee of zero point six percent "
        "per month, for up to twenty four months. Would you like to hear more?",
    ],
}


def main() -> None:
    """Run the benchmark and print JSON results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from tts.audio import resample
    from tts.cache import PromptCache
    from tts.espeak import EspeakSynthesizer

    t0 = time.perf_counter()
    native = EspeakSynthesizer(sample_rate=None)
    out: dict = {"backend": native.version, "init_s": round(time.perf_counter() - t0, 3), "prompts": []}
    for language, prompts in PROMPTS.items():
        for text in prompts:
            native.synthesize(text, language=language)  # warm
            synth_times, resample_times = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                audio = native.synthesize(text, language=language)
                synth_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                resample(audio, 8000)
                resample_times.append(time.perf_counter() - t)
            out["prompts"].append(
                {
                    "language": language,
                    "chars": len(text),
                    "audio_s": round(audio.duration_s, 2),
                    "synth_ms": round(statistics.median(synth_times) * 1000, 1),
                    "resample_22k_to_8k_ms": round(statistics.median(resample_times) * 1000, 2),
                    "rtf": round(statistics.median(synth_times) / audio.duration_s, 4),
                }
            )
    with tempfile.TemporaryDirectory() as tmp:
        cache = PromptCache(tmp, EspeakSynthesizer(sample_rate=8000))
        text = PROMPTS["zh"][2]
        t = time.perf_counter()
        cache.get(text, language="zh")
        miss = time.perf_counter() - t
        hits = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            cache.get(text, language="zh")
            hits.append(time.perf_counter() - t)
        out["cache"] = {"miss_ms": round(miss * 1000, 1), "hit_ms": round(statistics.median(hits) * 1000, 2)}
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
