"""Answering-machine detection: precision, recall and decision time on audio waihu makes itself.

Machine greetings (:data:`sip_peers.greetings.MACHINE_GREETINGS`, 6 wordings, with and without
a beep) and human pickups (:data:`~sip_peers.greetings.HUMAN_PICKUPS`, 6 wordings, then the
silence of a person waiting) are spoken by 5 Kokoro voices, sent through a G.711 mu-law channel and
fed frame by frame to :class:`waihu.cpa.amd.AnsweringMachineDetector` with the recogniser calls use.
"Machine" is the positive class. Decision time = seconds after the answer plus the transcription
that decided.

Usage: WAIHU_DATA_DIR=var python bench/amd.py [--voices 5]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.carrier_announcements import FRAME, phone_channel  # noqa: E402
from bench.common import percentile  # noqa: E402


def run_one(recognizer: Any, pcm: bytes) -> Any:
    """Feed ``pcm`` to a fresh detector until it decides; the detector afterwards."""
    from waihu.cpa.amd import AnsweringMachineDetector
    from waihu.cpa.announcements import feed_all

    return feed_all(AnsweringMachineDetector(recognizer), pcm, FRAME)


def main() -> None:
    """Run the benchmark and print a Markdown summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voices", type=int, default=5)
    args = parser.parse_args()

    from sip_peers.greetings import (
        HUMAN_PICKUPS,
        MACHINE_GREETINGS,
        machine_audio,
        pickup_audio,
        voices,
    )
    from waihu.cpa.tones import silence
    from waihu.voice.call_builder import default_recognizer

    recognizer = default_recognizer("zh")
    recognizer.transcribe(silence(1.0), 8000)
    chosen = voices()[: max(1, args.voices)]
    cases: list[tuple[str, str, Any]] = []
    rotate = args.voices <= 1  # one voice per wording, in turn
    for i, text in enumerate(MACHINE_GREETINGS):
        for voice in (voices()[i % len(voices())],) if rotate else chosen:
            for beep in (False, True):
                det = run_one(recognizer, phone_channel(machine_audio(text, voice, beep=beep)))
                cases.append(("machine", f"{'beep' if beep else 'no beep'}", det))
                print(f"machine {i} {voice} beep={beep}: {det.decision}", flush=True)
    for i, text in enumerate(HUMAN_PICKUPS):
        for voice in (voices()[i % len(voices())],) if rotate else chosen:
            det = run_one(recognizer, phone_channel(pickup_audio(text, voice)))
            cases.append(("human", "pickup", det))
            print(f"human {i} {voice}: {det.decision}", flush=True)
    tp = sum(truth == "machine" and d.decision.kind == "machine" for truth, _k, d in cases)
    fp = sum(truth == "human" and d.decision.kind == "machine" for truth, _k, d in cases)
    fn = sum(truth == "machine" and d.decision.kind == "human" for truth, _k, d in cases)
    tn = sum(truth == "human" and d.decision.kind == "human" for truth, _k, d in cases)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    print(f"\nmachine precision {precision:.3f}, recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    for kind in ("no beep", "beep", "pickup"):
        mine = [d for _t, k, d in cases if k == kind]
        times = [d.decision.at_s + (d.asr_s if d.decision.reason == "keyword" else 0.0) for d in mine]
        reasons = Counter(d.decision.reason for d in mine)
        print(
            f"{kind}: n={len(mine)}, decision p50 {percentile(times, 50):.2f} s, "
            f"p90 {percentile(times, 90):.2f} s after the answer; reasons {dict(reasons)}"
        )


if __name__ == "__main__":
    main()
