"""Turn latency from `waihu talk` runs: endpoint delay, ASR+NLU+TTS compute and their sum; barge-in reaction.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/talk_latency.py [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from dialog.loader import load_flow  # noqa: E402
from nlu.factory import build_classifier  # noqa: E402
from waihu.voice.call_builder import default_recognizer, default_synthesizer  # noqa: E402
from waihu.voice.customer import CustomerScript  # noqa: E402
from waihu.voice.talk import run_talk  # noqa: E402

SCRIPTS = [
    ROOT / "demo" / "talk" / "credit_card_interested.yaml",
    ROOT / "demo" / "talk" / "credit_card_questions.yaml",
]


def main() -> None:
    """Run the demo talk scripts and print latency percentiles."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    flow_path = ROOT / "flows" / "credit_card_installment.yaml"
    flow = load_flow(flow_path)
    classifier, recognizer, synthesizer = (
        build_classifier(flow),
        default_recognizer("zh"),
        default_synthesizer(),
    )
    endpoint, compute, total, reaction = [], [], [], []
    audio_s = wall_s = 0.0
    for _ in range(args.runs):
        for script_path in SCRIPTS:
            report = run_talk(
                flow,
                CustomerScript.load(script_path),
                script_path.parent,
                flow_dir=flow_path.parent,
                classifier=classifier,
                recognizer=recognizer,
                synthesizer=synthesizer,
            )
            loop = report.loop
            assert loop is not None
            for timing in loop.timings:
                endpoint.append((timing.reply_start_s - timing.speech_end_s) * 1000)
                compute.append(timing.compute_ms)
                total.append(timing.latency_ms)
            reaction += [r * 1000 for r in loop.stats.barge_in_reaction_s]
            audio_s += loop.time_s
            wall_s += report.wall_s
    for name, values in (("endpoint delay", endpoint), ("ASR+NLU+TTS", compute), ("turn latency", total)):
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"{name:15} n={len(values):3}  p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  max {max(values):6.0f} ms")
    print(f"barge-in reaction (speech onset → prompt stopped): n={len(reaction)}  max {max(reaction):.0f} ms")
    print(f"simulated {audio_s:.0f} s of calls in {wall_s:.1f} s wall ({audio_s / wall_s:.1f}× real time)")


if __name__ == "__main__":
    main()
