"""Spoken-intent accuracy: customer WAV → Whisper → NLU, against the clip's labelled intent.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/speech_intent.py [--clips DIR] [--verbose]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from dialog.loader import load_flow  # noqa: E402
from nlu.factory import build_classifier  # noqa: E402
from nlu.intent_space import candidates  # noqa: E402
from tts.recorded import load_recorded  # noqa: E402
from waihu.voice.call_builder import default_recognizer  # noqa: E402
from waihu.voice.loop import vocabulary_hint  # noqa: E402


def main() -> None:
    """Print per-clip results and the accuracy with and without the vocabulary hint."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=Path, default=ROOT / "var" / "customer_zh", help="Clip library.")
    parser.add_argument("--flow", type=Path, default=ROOT / "flows" / "credit_card_installment.yaml")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    flow = load_flow(args.flow)
    classifier = build_classifier(flow)
    recognizer = default_recognizer(flow.flow.language)
    hint = vocabulary_hint(flow, None)
    allowed = candidates(flow)
    rows = [
        r
        for r in csv.reader((args.clips / "manifest.tsv").open(encoding="utf-8"), delimiter="\t")
        if r[0].endswith(".wav")
    ]
    for use_hint in (False, True):
        correct, latencies = 0, []
        for file, intent, text, *_rest in rows:
            audio = load_recorded(args.clips / file, 8000)
            started = time.perf_counter()
            heard = recognizer.transcribe(audio.pcm, 8000, initial_prompt=hint if use_hint else None).text
            latencies.append((time.perf_counter() - started) * 1000)
            predicted = classifier.classify(heard, allowed).intent
            correct += predicted == intent
            if args.verbose:
                verdict = "ok " if predicted == intent else "BAD"
                print(f"{verdict} {intent:20} {text:12} heard {heard!r} -> {predicted}")
        share = f"{correct / len(rows):.3f} ({correct}/{len(rows)})"
        print(
            f"hint={'on ' if use_hint else 'off'}: spoken intent accuracy {share}; "
            f"ASR p50 {percentile(latencies, 50):.0f} ms p95 {percentile(latencies, 95):.0f} ms"
        )


if __name__ == "__main__":
    main()
