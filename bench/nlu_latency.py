"""NLU latency: p50/p95/p99 per utterance (full classify: normalise, rules, e5, head), 1 thread.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/nlu_latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, rss_mib  # noqa: E402
from dialog.loader import load_flow  # noqa: E402
from nlu.evaluation import read_examples  # noqa: E402
from nlu.factory import build_classifier  # noqa: E402
from nlu.intent_space import candidates  # noqa: E402

SETS = {
    "credit_card_installment": [
        "tests/data/nlu_credit_card_heldout.tsv",
        "tests/data/nlu_credit_card_final.tsv",
    ],
    "telecom_plan_upgrade": ["tests/data/nlu_telecom_plan_upgrade.tsv"],
    "appointment_reminder_en": ["tests/data/nlu_appointment_reminder_en.tsv"],
}


def main() -> None:
    """Print load times and latency percentiles."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rss_start = rss_mib()
    started = time.perf_counter()
    import torch  # noqa: F401  - measured separately: importing torch + transformers dominates start-up
    import transformers  # noqa: F401

    import_s = time.perf_counter() - started
    latencies: list[float] = []
    for flow_name, files in SETS.items():
        flow = load_flow(ROOT / "flows" / f"{flow_name}.yaml")
        started = time.perf_counter()
        classifier = build_classifier(flow, "default")
        load_s = time.perf_counter() - started
        print(f"{flow_name}: classifier ready in {load_s:.2f}s (first flow includes the model load)")
        texts = [ex.text for path in files for ex in read_examples(ROOT / path)]
        allowed = candidates(flow)
        for text in texts[:5]:
            classifier.classify(text, allowed)  # warm-up
        for _ in range(args.rounds):
            for text in texts:
                # Measure the uncached path: real calls repeat short answers, a benchmark should not.
                getattr(getattr(classifier, "model", None), "_query_cache", {}).clear()
                t0 = time.perf_counter()
                classifier.classify(text, allowed)
                latencies.append((time.perf_counter() - t0) * 1000)
    print(f"import torch+transformers: {import_s:.2f}s")
    print(
        f"classify latency over {len(latencies)} utterances, 1 thread: "
        f"p50 {percentile(latencies, 50):.1f} ms  p95 {percentile(latencies, 95):.1f} ms  "
        f"p99 {percentile(latencies, 99):.1f} ms  max {max(latencies):.1f} ms"
    )
    print(f"resident memory: {rss_mib():.0f} MiB (process start {rss_start:.0f} MiB)")


if __name__ == "__main__":
    main()
