"""Compute after the transcript: NLU + engine + the reply's (cached) audio, per customer utterance.

The target of the real-time issue: p95 ≤ 40 ms. For every line of ``demo/customer_zh.tsv`` and
``demo/customer_zh_unseen.tsv`` a conversation of the credit-card flow is started (greeting
rendered, not timed), then the time from the transcript to the reply's audio is measured:
``Conversation.understand`` (with an n-best of ``--nbest`` readings, like Whisper's: the line
itself and variants with one character dropped, so the NLU's batch and repairs cost what they do
on calls), ``Conversation.user_says`` and ``SpeechOutput.render`` of every Say. The NLU's query
cache is emptied before each utterance (real answers are new text). Round 1 may synthesise
replies' variable clauses; later rounds show the warm path calls take.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/turn_compute.py [--rounds 3] [--nbest 5] [--threads 1]
(run ``waihu tts warm flows/credit_card_installment.yaml`` first, as a flow upload does).
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
from dialog import actions as act  # noqa: E402
from dialog.loader import load_flow  # noqa: E402
from nlu.factory import build_classifier  # noqa: E402
from nlu.paths import data_dir  # noqa: E402
from waihu.conversation import Conversation  # noqa: E402
from waihu.voice.call_builder import default_synthesizer  # noqa: E402
from waihu.voice.speech_output import SpeechOutput  # noqa: E402

FLOW = ROOT / "flows" / "credit_card_installment.yaml"
LINES = (ROOT / "demo" / "customer_zh.tsv", ROOT / "demo" / "customer_zh_unseen.tsv")
VARIABLES = {"name": "张先生", "amount": "12000"}


def read_lines(paths: tuple[Path, ...]) -> list[str]:
    """The customer texts (second column) of intent<TAB>text files."""
    texts: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            texts += [row[1] for row in csv.reader(handle, delimiter="\t") if len(row) >= 2 and row[1]]
    return texts


def n_best(text: str, size: int) -> tuple[tuple[str, float], ...]:
    """``text`` and up to ``size - 1`` readings with one character dropped, scored like Whisper's."""
    readings = [text] + [text[:i] + text[i + 1 :] for i in range(len(text)) if len(text) > 2]
    return tuple((reading, -0.1 * rank) for rank, reading in enumerate(readings[:size]))


def main() -> None:
    """Print p50/p95/max per round and the summary line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nbest", type=int, default=5, help="Readings per utterance (1: the text alone).")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the NLU model.")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    flow = load_flow(FLOW)
    classifier = build_classifier(flow)
    speech = SpeechOutput(
        default_synthesizer(), data_dir() / "cache" / "prompts", language=flow.flow.language
    )
    texts = read_lines(LINES)
    print(
        f"{len(texts)} utterances × {args.rounds} rounds, n-best {args.nbest}, {args.threads} NLU thread(s)"
    )
    warm: list[float] = []
    for round_number in range(1, args.rounds + 1):
        times: list[float] = []
        for text in texts:
            conversation = Conversation(flow, classifier, VARIABLES)
            for say in conversation.start().actions:
                if isinstance(say, act.Say):
                    speech.render(say)
            model = getattr(classifier, "model", None)
            if model is not None:  # a new utterance is never in the query cache: measure the encoder
                model._query_cache.clear()
            started = time.perf_counter()
            nlu = conversation.understand(text, n_best(text, args.nbest) if args.nbest > 1 else ())
            output = conversation.user_says(text, nlu)
            for action in output.actions:
                if isinstance(action, act.Say):
                    speech.render(action)
            times.append((time.perf_counter() - started) * 1000)
        if round_number > 1:
            warm += times
        print(
            f"round {round_number}: p50 {percentile(times, 50):.1f} ms  p95 {percentile(times, 95):.1f} ms  "
            f"max {max(times):.1f} ms"
        )
    if warm:
        print(f"turn_compute p50_ms {percentile(warm, 50):.1f} p95_ms {percentile(warm, 95):.1f}")


if __name__ == "__main__":
    main()
