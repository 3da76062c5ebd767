"""Time to first audio of a prompt with variables, after the reply is decided.

The credit-card offer ("{name}您好，您本期信用卡账单{amount}元，现在可以申请账单分期，…") with a fresh name
and amount per call, its fixed clauses already in the prompt cache (as after ``waihu tts warm`` or
the warm-up at upload). For each call: the time until the first clause's audio is ready (streaming:
the prompt starts playing then), until the whole prompt is (what a call waited before streaming),
and how many of its clauses came from the cache. Default voice (Kokoro when prepared).

Usage: python bench/tts_first_audio.py [--calls 12] [--threads 2] [--fresh-cache]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile, rss_mib  # noqa: E402

SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
#: Given names: a full name per call ("张伟先生"), so the first clause is rarely in the cache already.
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
TARGET_MS = 300.0


def main() -> None:
    """Measure and print one line per call and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2, help="runner threads (the later clauses)")
    parser.add_argument("--seed", type=int, default=None, help="names and amounts (default: new each run)")
    parser.add_argument(
        "--fresh-cache",
        action="store_true",
        help="an empty prompt cache (default: the host's, $WAIHU_DATA_DIR)",
    )
    args = parser.parse_args()

    from dialog.actions import Say
    from dialog.loader import load_flow
    from dialog.templates import render
    from nlu.paths import data_dir
    from waihu.voice.call_builder import default_synthesizer
    from waihu.voice.speech_output import SpeechOutput, fixed_texts

    flow = load_flow(ROOT / "flows" / "credit_card_installment.yaml")
    template = next(text for node in flow.nodes.values() for text in node.prompt if "{amount}" in text)
    synthesizer = default_synthesizer()
    print(f"voice: {synthesizer.version}; prompt: {template}")
    with tempfile.TemporaryDirectory() as fresh:
        cache_dir = Path(fresh) if args.fresh_cache else data_dir() / "cache" / "prompts"
        speech = SpeechOutput(synthesizer, cache_dir, language="zh")
        started = time.perf_counter()
        new, _cached = speech.warm(fixed_texts(flow))  # fixed lines and clauses, as at upload
        print(f"warm-up: {new} clauses in {time.perf_counter() - started:.1f} s")
        random.seed(args.seed if args.seed is not None else time.time_ns())  # new values: cache misses
        runner = concurrent.futures.ThreadPoolExecutor(args.threads)
        first_ms, first_cpu_ms, whole_ms, hit_rates = [], [], [], []
        for call in range(args.calls):
            values = {
                "name": f"{random.choice(SURNAMES)}{random.choice(GIVEN)}{random.choice(['先生', '女士'])}",
                "amount": str(random.randrange(1000, 99999, 1)),
            }
            say = Say(render(template, values))
            hits, misses = speech.cache.hits, speech.cache.misses
            decided, cpu = time.perf_counter(), time.process_time()
            streamed = speech.render_streamed(say, runner.submit)
            first = (time.perf_counter() - decided) * 1000
            first_cpu_ms.append((time.process_time() - cpu) * 1000)  # load-independent: CPU it took
            if streamed.rest is not None:
                streamed.rest.result()
            whole = (time.perf_counter() - decided) * 1000
            made, found = speech.cache.misses - misses, speech.cache.hits - hits
            first_ms.append(first)
            whole_ms.append(whole)
            hit_rates.append(found / max(1, made + found))
            print(f"call {call + 1:2d} {say.text[:18]}…  first audio {first:6.0f} ms "
                  f"(CPU {first_cpu_ms[-1]:5.0f} ms)  whole prompt {whole:6.0f} ms  "
                  f"clauses cached {found}/{made + found}")  # fmt: skip
        runner.shutdown()
    print(
        f"first audio p50 {statistics.median(first_ms):.0f} ms p90 {percentile(first_ms, 90):.0f} ms "
        f"(target ≤ {TARGET_MS:.0f} ms: {'met' if percentile(first_ms, 90) <= TARGET_MS else 'NOT met'}); "
        f"first clause CPU time p50 {statistics.median(first_cpu_ms):.0f} ms; "
        f"whole prompt p50 {statistics.median(whole_ms):.0f} ms p90 {percentile(whole_ms, 90):.0f} ms; "
        f"clause cache hit rate {statistics.mean(hit_rates):.0%}; RSS {rss_mib():.0f} MiB"
    )


if __name__ == "__main__":
    main()
