"""Latency of single-utterance e5 embeddings (multilingual-e5-small via transformers, CPU).

Prints model conversion/load time, p50/p95/p99 ms per utterance over ~200 Chinese and English
utterances, and resident memory. Usage::

    python bench/nlu_embed_latency.py [--data-dir var] [--threads 1] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ZH = [
    "好",
    "好啊",
    "可以 你说吧",
    "行 没问题",
    "嗯 你讲",
    "不用了",
    "不需要 谢谢",
    "没兴趣",
    "我现在很忙",
    "在开会 晚点再打",
    "我在开车 不方便",
    "你是谁",
    "你是哪个银行的",
    "你是机器人吗",
    "我要找人工客服",
    "转人工",
    "你再说一遍",
    "没听清楚 能重复一下吗",
    "你打错了",
    "我不是他本人",
    "以后别给我打电话了",
    "把我的号码删掉",
    "你们怎么知道我的号码",
    "分期手续费是多少",
    "利息怎么算",
    "能分几期",
    "最多可以分多少期",
    "提前还款要手续费吗",
    "会影响征信吗",
    "额度是多少",
    "怎么申请",
    "在手机银行上能办吗",
    "我想办理信用卡",
    "我要申请一张信用卡",
    "这个月账单多少钱",
    "还款日是哪天",
    "我已经还了",
    "嗯 那个 我考虑一下",
    "等我想想再说",
    "我问一下我老婆",
    "你发短信给我吧",
    "有没有优惠活动",
    "年费怎么收",
    "我的卡被冻结了",
    "密码忘了怎么办",
    "听不懂你在说什么",
    "喂 喂 听得到吗",
    "今天天气怎么样",
    "ＡＢＣ银行的客服电话是９５５８８吗",
    "分十二期每期还多少",
]
EN = [
    "yes",
    "sure, go ahead",
    "okay that sounds fine",
    "no thanks",
    "not interested",
    "I'm busy right now, please call me later",
    "I'm driving, can't talk",
    "who is this",
    "which bank are you calling from",
    "are you a robot",
    "let me speak to a human",
    "transfer me to an agent",
    "sorry, can you repeat that",
    "I didn't catch that",
    "wrong number",
    "I'm not him",
    "please don't call me again",
    "remove my number from your list",
    "how did you get my number",
    "what is the fee for instalments",
    "how is the interest calculated",
    "how many instalments can I choose",
    "what's the maximum number of periods",
    "is there a fee for paying early",
    "will this affect my credit score",
    "what is my credit limit",
    "how do I apply",
    "can I do it in the mobile app",
    "I want a credit card",
    "how much is my bill this month",
    "when is the payment due",
    "I already paid",
    "let me think about it",
    "I need to ask my wife first",
    "just send me a text message",
    "are there any promotions",
    "how much is the annual fee",
    "my card is frozen",
    "I forgot my PIN",
    "I don't understand",
    "hello? can you hear me?",
    "what's the weather like today",
    "twelve instalments, how much each month",
    "maybe next week",
    "that's too expensive",
    "fine, sign me up",
    "what's the interest rate for 12 months?",
    "call me back tomorrow morning",
    "I'm at work",
    "no, I never applied for that",
]


def vm_status(field: str) -> str:
    """Return a field of /proc/self/status such as ``VmRSS`` (e.g. ``'812340 kB'``)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    return "n/a"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("WAIHU_DATA_DIR", "var")))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="passes over the ~200 utterances")
    args = parser.parse_args()

    from nlu.e5 import E5Embedder, ensure_model

    started = time.perf_counter()
    model_dir = ensure_model(args.data_dir)
    print(f"model dir           {model_dir} (ensure_model {time.perf_counter() - started:.2f} s)")
    print(f"RSS before load     {vm_status('VmRSS')}")

    started = time.perf_counter()
    import torch  # noqa: F401  (import cost reported separately)
    import transformers  # noqa: F401

    import_s = time.perf_counter() - started
    started = time.perf_counter()
    embedder = E5Embedder(model_dir, num_threads=args.threads)
    load_s = time.perf_counter() - started
    print(f"import torch+hf     {import_s:.2f} s")
    print(f"model load          {load_s:.2f} s (tokenizer + fp16->fp32 weights)")

    utterances = (ZH + EN) * 2
    for text in utterances[:10]:  # warm-up
        embedder.embed([text])
    times: list[float] = []
    for _ in range(args.rounds):
        for text in utterances:
            t0 = time.perf_counter()
            embedder.embed([text])
            times.append((time.perf_counter() - t0) * 1000)
    print(f"utterances          {len(times)} ({len(ZH)} zh + {len(EN)} en, x2), threads={args.threads}")
    print(
        f"latency ms          p50 {percentile(times, 50):.1f}  p95 {percentile(times, 95):.1f}  "
        f"p99 {percentile(times, 99):.1f}  mean {statistics.fmean(times):.1f}  max {max(times):.1f}"
    )
    print(f"RSS after           {vm_status('VmRSS')} (peak {vm_status('VmHWM')})")


if __name__ == "__main__":
    main()
