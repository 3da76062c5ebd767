"""Spoken-intent accuracy: customer WAV → Whisper → NLU, against the clip's labelled intent.

For each Whisper set-up (prompt × greedy or n-best) it prints the ASR character error rate,
the ASR and NLU times per clip, and the intent accuracy of:
``top1`` the first transcript, NLU without phonetic repair (the pipeline before n-best/repair);
``top1+rep`` the first transcript with phonetic repair (nlu.rules.phonetic_repairs);
``nbest+rep`` every hypothesis, ASR and NLU scores combined (nlu.nbest.classify_nbest).
Prompts: ``off`` none; ``flow`` waihu.voice.loop.vocabulary_hint (what calls use: one short
keyword per candidate intent); ``wide`` :func:`wide_hint`, the earlier three keywords per intent.
Set-ups are interleaved clip by clip so that their times share the machine's load.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/speech_intent.py [--clips DIR] [--nbest K]
       [--hints off,flow,wide] [--repeat N] [--verbose]
       [--lines demo/customer_zh_unseen.tsv --voices zf_xiaoxiao,zm_yunxia]
(``--lines`` first synthesises the clip library into ``--clips`` when missing or out of date.)
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr.base import Transcript  # noqa: E402
from asr.metrics import corpus_error_rate  # noqa: E402
from asr.whisper_backend import WhisperConfig, WhisperRecognizer  # noqa: E402
from bench.common import percentile  # noqa: E402
from dialog.loader import load_flow  # noqa: E402
from dialog.schema import Flow  # noqa: E402
from nlu.factory import build_classifier  # noqa: E402
from nlu.intent_space import candidates  # noqa: E402
from nlu.nbest import classify_nbest  # noqa: E402
from tts.recorded import load_recorded  # noqa: E402
from waihu.voice.loop import intent_keywords, vocabulary_hint  # noqa: E402

_DIGITS = "零一二三四五六七八九"
_DIGIT_RUN = re.compile(r"\d+")


def zh_number(value: int) -> str:
    """Chinese reading of a non-negative integer below 10^8 (12 → 十二, 24 → 二十四, 500 → 五百)."""
    if value < 10:
        return _DIGITS[value]
    if value >= 10**4:
        high, low = divmod(value, 10**4)
        rest = "" if low == 0 else ("零" if low < 1000 else "") + zh_number(low)
        return zh_number(high) + "万" + rest
    out, zero = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = value // unit % 10
        if digit:
            if zero and out:
                out += "零"
            out += ("" if (unit == 10 and not out and digit == 1) else _DIGITS[digit]) + name
            zero = False
        elif out:
            zero = True
    return out


def spoken_form(text: str) -> str:
    """Text for CER: Arabic numbers read out in Chinese (Whisper writes 12期 for 十二期)."""
    return _DIGIT_RUN.sub(lambda m: zh_number(int(m.group())) if len(m.group()) <= 8 else m.group(), text)


def character_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Pooled CER of (reference, transcript) pairs, spaces and punctuation ignored, numbers read out."""
    return corpus_error_rate([(spoken_form(ref), spoken_form(hyp)) for ref, hyp in pairs])


def wide_hint(flow: Flow, node: str | None) -> str:
    """The prompt calls used before n-best: up to three 2-4 character keywords per candidate
    intent, cut at 120 characters (kept to compare with :func:`vocabulary_hint`)."""
    terms: list[str] = []
    for intent in candidates(flow, node):
        keywords = intent_keywords(flow, intent)
        terms.extend(k for k in keywords[:3] if not k.isascii() and 2 <= len(k) <= 4)
    return "，".join(dict.fromkeys(terms))[:120]


@dataclass
class Setup:
    """One Whisper set-up and what it gave on every clip."""

    hint: str
    nbest: int
    transcripts: list[Transcript] = field(default_factory=list)
    asr_ms: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"hint={self.hint} {'greedy' if self.nbest == 1 else f'n-best {self.nbest}'}"


def read_manifest(clips: Path) -> list[tuple[str, str, str]]:
    """(file, intent, text) of a clip library's manifest."""
    with (clips / "manifest.tsv").open(encoding="utf-8") as handle:
        return [(r[0], r[1], r[2]) for r in csv.reader(handle, delimiter="\t") if r and r[0].endswith(".wav")]


def ensure_library(clips: Path, lines: Path, voices: list[str]) -> None:
    """Synthesise ``lines`` into ``clips`` with the Kokoro ``voices`` (cached by fingerprint)."""
    from tts import default_synthesizer
    from waihu.voice.customer_audio import ensure_clip_library, read_lines

    ensure_clip_library(
        clips, lambda voice: default_synthesizer("zh", voice), lines=read_lines(lines), voices=voices
    )


def main() -> None:
    """Print one row per Whisper set-up: CER, ASR/NLU ms and the three intent accuracies."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=Path, default=ROOT / "var" / "customer_zh", help="Clip library.")
    parser.add_argument("--flow", type=Path, default=ROOT / "flows" / "credit_card_installment.yaml")
    parser.add_argument(
        "--nbest", type=int, default=5, help="n-best size compared with greedy (1: greedy only)."
    )
    parser.add_argument("--hints", default="off,flow,wide", help="Prompts to compare (off, flow, wide).")
    parser.add_argument("--lines", type=Path, help="intent<TAB>text lines to synthesise into --clips first.")
    parser.add_argument("--voices", default="zf_xiaoxiao,zm_yunxia", help="Kokoro voices for --lines.")
    parser.add_argument(
        "--repeat", type=int, default=1, help="Decode each clip N times, keep the fastest (less load noise)."
    )
    parser.add_argument("--verbose", action="store_true", help="Per-clip results of the last set-up.")
    args = parser.parse_args()
    if args.lines:
        ensure_library(args.clips, args.lines, args.voices.split(","))
    flow = load_flow(args.flow)
    classifier = build_classifier(flow)
    allowed = candidates(flow)
    prompts = {"off": None, "flow": vocabulary_hint(flow, None), "wide": wide_hint(flow, None)}
    hints = [name.strip() for name in args.hints.split(",") if name.strip()]
    if unknown := set(hints) - set(prompts):
        parser.error(f"unknown hints {sorted(unknown)}; choose among {sorted(prompts)}")
    sizes = sorted({1, max(1, args.nbest)})
    recognizers = {
        n: WhisperRecognizer(WhisperConfig(language=flow.flow.language, cpu_threads=2, num_hypotheses=n))
        for n in sizes
    }
    setups = [Setup(hint, n) for hint in hints for n in sizes]
    rows = read_manifest(args.clips)
    for file, _intent, _text in rows:
        pcm = load_recorded(args.clips / file, 8000).pcm
        times: dict[int, list[float]] = {}
        for _ in range(max(1, args.repeat)):
            for index, setup in enumerate(setups):
                started = time.perf_counter()
                transcript = recognizers[setup.nbest].transcribe(
                    pcm, 8000, initial_prompt=prompts[setup.hint]
                )
                times.setdefault(index, []).append((time.perf_counter() - started) * 1000)
                if len(times[index]) == 1:
                    setup.transcripts.append(transcript)
        for index, setup in enumerate(setups):
            setup.asr_ms.append(min(times[index]))

    model = getattr(classifier, "model", None)
    cache = getattr(model, "_query_cache", {})
    print(f"{args.clips} ({len(rows)} clips); accuracy: top1 (no repair) | top1+rep | nbest+rep")
    for name in hints:
        if prompts[name]:
            print(f"hint={name}: {prompts[name]}")
    for setup in setups:
        pairs = [(text, t.text) for (_f, _i, text), t in zip(rows, setup.transcripts, strict=True)]
        correct = {"top1": 0, "top1+rep": 0, "nbest+rep": 0}
        nlu_ms: list[float] = []
        lines = []
        for (_file, intent, text), transcript in zip(rows, setup.transcripts, strict=True):
            classifier.repair = False
            plain = classifier.classify(transcript.text, allowed).intent
            classifier.repair = True
            repaired = classifier.classify(transcript.text, allowed).intent
            cache.clear()  # time the n-best path cold, as a new utterance is
            started = time.perf_counter()
            chosen = classify_nbest(classifier, transcript.text, transcript.alternatives, allowed).intent
            nlu_ms.append((time.perf_counter() - started) * 1000)
            correct["top1"] += plain == intent
            correct["top1+rep"] += repaired == intent
            correct["nbest+rep"] += chosen == intent
            verdict = "ok " if chosen == intent else "BAD"
            lines.append(f"{verdict} {intent:20} {text:12} heard {transcript.text!r} -> {chosen}")
        shares = " | ".join(f"{correct[k] / len(rows):.3f}" for k in correct)
        print(
            f"{setup.name:18} CER {character_error_rate(pairs):.3f}  accuracy {shares}  "
            f"ASR p50 {percentile(setup.asr_ms, 50):.0f} ms p95 {percentile(setup.asr_ms, 95):.0f} ms  "
            f"NLU p50 {percentile(nlu_ms, 50):.0f} ms p95 {percentile(nlu_ms, 95):.0f} ms"
        )
        if args.verbose and setup is setups[-1]:
            print("\n".join(lines))


if __name__ == "__main__":
    main()
