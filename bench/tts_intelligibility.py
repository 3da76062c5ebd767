"""TTS intelligibility through the phone: Kokoro-82M vs espeak-ng on every line of the shipped flows.

Every prompt, re-prompt, reply, knowledge-base answer and fallback of ``flows/*.yaml`` (variables
filled with sample values) is synthesised, sent through an 8 kHz G.711 mu-law channel, framed by
the silence a call has around a prompt, and transcribed by Whisper-base (int8, greedy); the score is
the CER (Mandarin) or WER (English) after both sides are normalised (:mod:`tts.normalize`). Both
engines speak at the rate calls use (``SpeechOutput``: zh 220, en 165 words per minute).
Also: Kokoro's real-time factor, time to first audio (first clause of each line, the streaming
path) and resident memory.

Usage: python bench/tts_intelligibility.py [--voices zf_xiaoyi,zm_yunxi] [--threads 1] [--limit N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile, rss_mib  # noqa: E402

#: Values for flow variables without a usable default (as a strategy system would pass them).
SAMPLE_VALUES = {
    "name": {"zh": "张先生", "en": "Ms. Johnson"},
    "amount": {"zh": "12000", "en": "1200"},
    "date": {"zh": "3月12日", "en": "Tuesday, March 12th"},
    "time": {"zh": "10:30", "en": "10:30 AM"},
}
RATES = {"zh": 220, "en": 165}  # waihu.voice.speech_output.DEFAULT_RATES


@dataclass
class Score:
    """Pooled error counts and timings for one (flow, engine, voice)."""

    language: str
    pairs: list[tuple[str, str]] = field(default_factory=list)
    audio_s: float = 0.0
    synth_s: float = 0.0
    first_audio_s: list[float] = field(default_factory=list)


def flow_lines(path: Path) -> tuple[str, list[str]]:
    """(language, every distinct line the robot may say) of a flow, variables filled in."""
    from dialog.loader import load_flow
    from waihu.voice.speech_output import spoken_texts

    flow = load_flow(path)
    language = flow.flow.language
    texts = spoken_texts(flow)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        variable = flow.variables.get(name)
        if name in SAMPLE_VALUES:
            return SAMPLE_VALUES[name][language]
        if variable is not None and variable.default is not None:
            return str(variable.default)
        return name

    filled = [re.sub(r"\{(\w+)\}", value, text) for text in texts]
    return language, [t for t in dict.fromkeys(filled) if t.strip()]


def phone_channel(audio, sample_rate: int = 8000) -> bytes:  # type: ignore[no-untyped-def]
    """8 kHz, G.711 mu-law there and back, 0.3 s of silence before and 1 s after (the robot listens).

    Whisper-base is sensitive to this framing: 0.5 s after instead of 1.5 s raised the CER of the
    credit-card flow's sentences from 0.12 to 0.15 (it stops transcribing early).
    """
    from tts.audio import resample, ulaw_decode, ulaw_encode

    pcm = ulaw_decode(ulaw_encode(resample(audio, sample_rate).pcm))
    return b"\0\0" * int(0.3 * sample_rate) + pcm + b"\0\0" * int(1.0 * sample_rate)


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", default="zf_xiaoyi", help="Mandarin Kokoro voices, comma-separated")
    parser.add_argument("--en-voices", default="af_heart", help="English Kokoro voices, comma-separated")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads for Kokoro")
    parser.add_argument("--limit", type=int, default=0, help="lines per flow (0: all)")
    parser.add_argument("--no-judge", action="store_true", help="timings only (no Whisper, no CER)")
    parser.add_argument("--flows", nargs="*", type=Path, default=sorted((ROOT / "flows").glob("*.yaml")))
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from asr.metrics import corpus_error_rate
    from asr.whisper_backend import WhisperConfig, WhisperRecognizer
    from tts.espeak import EspeakSynthesizer
    from tts.kokoro import KokoroSynthesizer
    from tts.normalize import normalize

    console = Console()
    rss_start = rss_mib()
    started = time.perf_counter()
    kokoro = KokoroSynthesizer(threads=args.threads)
    kokoro.preload()
    load_s = time.perf_counter() - started
    kokoro.synthesize("预热。")
    rss_kokoro = rss_mib()
    espeak = EspeakSynthesizer(sample_rate=None)
    judges = {
        lang: WhisperRecognizer(WhisperConfig(language=lang, cpu_threads=2))
        for lang in (() if args.no_judge else ("zh", "en"))
    }
    voices = {"zh": args.voices.split(","), "en": args.en_voices.split(",")}

    scores: dict[tuple[str, str, str], Score] = {}
    for path in args.flows:
        language, lines = flow_lines(path)
        if args.limit:
            lines = lines[: args.limit]
        engines = [("kokoro", v, kokoro.with_voice(language, v)) for v in voices[language]]
        engines.append(("espeak-ng", espeak.voice_for(language), espeak))
        with console.status(f"{path.stem}: {len(lines)} lines × {len(engines)} voices"):
            for engine, voice, synth in engines:
                score = scores.setdefault((path.stem, engine, voice), Score(language))
                for text in lines:
                    t0 = time.perf_counter()
                    if engine == "kokoro":
                        pieces = []
                        for piece in synth.synthesize_clauses(text, language=language, rate=RATES[language]):
                            if not pieces:
                                score.first_audio_s.append(time.perf_counter() - t0)
                            pieces.append(piece)
                        from tts.base import Audio

                        audio = Audio(b"".join(p.pcm for p in pieces), pieces[0].sample_rate)
                    else:
                        audio = synth.synthesize(text, language=language, rate=RATES[language])
                        score.first_audio_s.append(time.perf_counter() - t0)
                    score.synth_s += time.perf_counter() - t0
                    score.audio_s += audio.duration_s
                    if args.no_judge:
                        continue
                    hypothesis = judges[language].transcribe(phone_channel(audio), 8000).text
                    score.pairs.append((normalize(text, language), normalize(hypothesis, language)))
        console.print(f"{path.stem}: done ({len(lines)} lines)")

    table = Table(title="Intelligibility through an 8 kHz G.711 channel, judged by Whisper-base")
    for column in (
        "flow",
        "lang",
        "engine",
        "voice",
        "lines",
        "CER/WER",
        "audio s",
        "RTF",
        "TTFA p50",
        "TTFA p95",
    ):
        table.add_column(column, justify="right" if column not in ("flow", "engine", "voice") else "left")
    for (flow, engine, voice), score in scores.items():
        language = score.language
        unit = "char" if language == "zh" else "word"
        error = corpus_error_rate(score.pairs, unit=unit) if score.pairs else float("nan")
        table.add_row(
            flow,
            language,
            engine,
            voice,
            str(len(score.first_audio_s)),
            f"{error:.3f} {'CER' if unit == 'char' else 'WER'}",
            f"{score.audio_s:.0f}",
            f"{score.synth_s / max(score.audio_s, 1e-9):.3f}",
            f"{statistics.median(score.first_audio_s):.2f} s",
            f"{percentile(score.first_audio_s, 95):.2f} s",
        )
    console.print(table)
    console.print(
        f"Kokoro: {args.threads} onnxruntime thread(s); session + G2P load {load_s:.1f} s; "
        f"resident memory {rss_start:.0f} → {rss_kokoro:.0f} MiB with Kokoro loaded "
        f"(+{rss_kokoro - rss_start:.0f} MiB); {rss_mib():.0f} MiB at the end"
        + ("." if args.no_judge else " (with espeak-ng and two Whisper judges).")
    )

    def line_error(score: Score, ref: str, hyp: str) -> float:
        return corpus_error_rate([(ref, hyp)], unit="char" if score.language == "zh" else "word")

    worst = sorted(
        ((key, ref, hyp, line_error(s, ref, hyp)) for key, s in scores.items() for ref, hyp in s.pairs),
        key=lambda item: -item[3],
    )
    worst = [w for w in worst if w[0][1] == "kokoro"][:10]
    console.print("Kokoro lines the judge got most wrong:")
    for (flow, _engine, voice), ref, hyp, error in worst:
        console.print(f"  [{flow} {voice} {error:.2f}] {ref} → {hyp}")


if __name__ == "__main__":
    main()
