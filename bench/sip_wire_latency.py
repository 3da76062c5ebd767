"""Turn latency and barge-in stop time measured on the wire, from the customers' side of real calls.

baresip (the customers of `waihu demo`) records what it sends (``*-enc.wav``: the customer) and what
it receives over RTP (``*-dec.wav``: the robot). For every customer utterance this script finds:
- reply latency: end of the customer's speech → first robot audio received;
- barge-in stop: when the customer starts talking over the robot, → robot audio stops arriving.

Usage: make demo (or waihu demo), then: .venv/bin/python bench/sip_wire_latency.py var/demo
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from tts.audio import read_wav  # noqa: E402

FRAME_S = 0.02
ACTIVE_RMS = 300.0  # 16-bit units; espeak and the clips are far louder, line noise is not
GAP_S = 0.5  # silence that separates two customer utterances


def activity(path: Path) -> np.ndarray:
    """Per 20 ms frame: True where the audio is louder than line noise."""
    audio = read_wav(path)
    samples = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float32)
    size = int(audio.sample_rate * FRAME_S)
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    return np.sqrt((frames**2).mean(axis=1)) > ACTIVE_RMS


def segments(active: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frames of utterances, merging pauses shorter than ``GAP_S``."""
    found: list[tuple[int, int]] = []
    gap = int(GAP_S / FRAME_S)
    for index in np.flatnonzero(active):
        if found and index - found[-1][1] <= gap:
            found[-1] = (found[-1][0], int(index))
        else:
            found.append((int(index), int(index)))
    return found


def measure(customer: np.ndarray, robot: np.ndarray) -> tuple[list[float], list[float]]:
    """(reply latencies, barge-in stop times) in ms for one call."""
    replies: list[float] = []
    stops: list[float] = []
    utterances = segments(customer)
    for number, (start, end) in enumerate(utterances):
        next_start = utterances[number + 1][0] if number + 1 < len(utterances) else len(robot)
        if start < len(robot) and robot[max(0, start - 5) : start + 1].any():
            quiet = np.flatnonzero(~robot[start:next_start])
            runs = [q for q in quiet if robot[start + q : start + q + 5].sum() == 0]
            if runs:
                stops.append(runs[0] * FRAME_S * 1000)
        later = np.flatnonzero(robot[end + 1 : next_start])
        if len(later) and not robot[end - 2 : end + 1].any():
            replies.append((later[0] + 1) * FRAME_S * 1000)
    return replies, stops


def main() -> None:
    """Print percentiles over every customer call found under the demo directory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("demo_dir", type=Path, nargs="?", default=ROOT / "var" / "demo")
    args = parser.parse_args()
    replies: list[float] = []
    stops: list[float] = []
    calls = 0
    for encoded in sorted(args.demo_dir.glob("baresip-*/rec/*-enc.wav")):
        decoded = encoded.with_name(encoded.name.replace("-enc.wav", "-dec.wav"))
        if not decoded.is_file():
            continue
        calls += 1
        r, s = measure(activity(encoded), activity(decoded))
        replies += r
        stops += s
    if not replies:
        raise SystemExit(f"no customer recordings under {args.demo_dir}: run `waihu demo` first")
    print(f"{calls} calls, {len(replies)} replies, {len(stops)} barge-ins (measured on the customer's side)")
    p50, p95, worst = percentile(replies, 50), percentile(replies, 95), max(replies)
    print(
        f"reply latency (speech end → first robot RTP audio): p50 {p50:.0f} p95 {p95:.0f} max {worst:.0f} ms"
    )
    if stops:
        stop50, stop_max = percentile(stops, 50), max(stops)
        print(f"barge-in stop (customer starts → robot audio stops): p50 {stop50:.0f}  max {stop_max:.0f} ms")


if __name__ == "__main__":
    main()
