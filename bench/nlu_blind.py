"""NLU generalisation: per-flow dev and blind accuracy, out-of-domain rejection, calibration, latency.

For each shipped flow, its dev set (tuning allowed) and its blind set (written from the prompts
only, never tuned on) are classified twice: all intents competing, and per node (each line at the
node of its third column, as in a real call). Out-of-domain rejection is the share of ``no_match``
lines answered ``no_match`` (per node); the project's shared OOD set counts with the dev side.
A reliability table (confidence bin → accuracy of the accepted answers) and the classify latency
(per-node mode, embedding cache cleared, one torch thread) follow; the last line is a summary.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/nlu_blind.py [--classifier default] [--flows a,b]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from dialog.loader import load_flow  # noqa: E402
from nlu.base import NO_MATCH, IntentClassifier  # noqa: E402
from nlu.evaluation import EvalReport, Example, evaluate, read_examples  # noqa: E402
from nlu.factory import build_classifier  # noqa: E402
from nlu.intent_space import candidates  # noqa: E402
from nlu.normalize import is_cjk  # noqa: E402

DATA = ROOT / "tests" / "data"
FLOWS = ("telecom_plan_upgrade", "credit_card_installment", "appointment_reminder_en")
SHARED_OOD = DATA / "nlu_out_of_domain.tsv"
BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


def _language(text: str) -> str:
    return "zh" if any(is_cjk(ch) for ch in text) else "en"


def _rejection(report: EvalReport, examples: Sequence[Example]) -> tuple[int, int]:
    """(rejected, total) over the ``no_match`` lines of ``examples`` (same order as the report)."""
    pairs = [
        (ex, outcome) for ex, outcome in zip(examples, report.outcomes, strict=True) if ex.intent == NO_MATCH
    ]
    return sum(outcome[0] == NO_MATCH for _ex, outcome in pairs), len(pairs)


def _latencies(classifier: IntentClassifier, texts: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
    cache = getattr(getattr(classifier, "model", None), "_query_cache", None)
    out: list[float] = []
    for text, allowed in texts:
        if isinstance(cache, dict):
            cache.clear()  # measure the uncached path (real calls repeat short answers)
        started = time.perf_counter()
        classifier.classify(text, allowed)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    """Print one row per (flow, set), the reliability table, latency and a summary line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--classifier", default="default")
    parser.add_argument("--flows", default=",".join(FLOWS))
    parser.add_argument("--errors", action="store_true", help="List the per-node errors.")
    args = parser.parse_args()
    print(f"{'flow':26} {'set':6} {'n':>4} {'all':>6} {'node':>6} {'ood':>9}")
    calibration: list[tuple[str, float, bool]] = []
    timed: list[tuple[IntentClassifier, str, Sequence[str]]] = []
    blind: dict[str, float] = {}
    ood_hits = ood_total = 0
    for flow_name in args.flows.split(","):
        flow = load_flow(ROOT / "flows" / f"{flow_name}.yaml")
        classifier = build_classifier(flow, args.classifier)
        language = flow.flow.language
        for kind in ("dev", "blind"):
            examples = read_examples(DATA / f"nlu_{kind}_{flow_name}.tsv")
            if kind == "dev":  # the shared OOD lines of the flow's language, heard at the first node
                examples += [
                    Example(ex.intent, ex.text, ex.line, flow.start)
                    for ex in read_examples(SHARED_OOD)
                    if _language(ex.text) == language
                ]
            everything = evaluate(classifier, examples, candidates(flow))
            per_node = evaluate(
                classifier, examples, None, node_candidates=lambda node, f=flow: candidates(f, node)
            )
            rejected, total = _rejection(per_node, examples)
            print(
                f"{flow_name:26} {kind:6} {len(examples):4} {everything.accuracy:6.3f} "
                f"{per_node.accuracy:6.3f} {rejected:>4}/{total:<4}"
            )
            if args.errors:
                for ex, predicted, confidence in per_node.errors:
                    print(f"    {ex.node}: {ex.text!r} gold {ex.intent} got {predicted} ({confidence:.2f})")
            calibration += per_node.outcomes
            if kind == "blind":
                blind[flow_name] = per_node.accuracy
                ood_hits, ood_total = ood_hits + rejected, ood_total + total
            timed += [(classifier, ex.text, candidates(flow, ex.node)) for ex in examples if ex.node]
    print("\nreliability (per node, accepted answers): confidence bin -> accuracy (n)")
    accepted = [(conf, ok) for intent, conf, ok in calibration if intent != NO_MATCH]
    for low, high in itertools.pairwise(BINS):
        inside = [ok for conf, ok in accepted if low <= conf < high]
        share = sum(inside) / len(inside) if inside else 0.0
        print(f"  [{low:.1f}, {min(high, 1.0):.1f}{']' if high > 1 else ')'}  {share:.3f} ({len(inside)})")
    latencies: list[float] = []
    for _round in range(2):
        for classifier, text, allowed in timed:
            latencies += _latencies(classifier, [(text, allowed)])
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(
        f"\nclassify latency ({len(latencies)} calls, per node, uncached): p50 {p50:.1f} ms  p95 {p95:.1f} ms"
    )
    parts = " ".join(f"{name}={value:.3f}" for name, value in blind.items())
    ood = ood_hits / ood_total if ood_total else 0.0
    print(f"summary: blind per-node {parts} ood_blind={ood:.3f} p50={p50:.1f}ms p95={p95:.1f}ms")


if __name__ == "__main__":
    main()
