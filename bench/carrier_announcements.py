"""Carrier announcements in early media: classification accuracy and time to decision.

Every wording of :data:`sip_peers.early_media.ANNOUNCEMENTS` (15: 空号, 关机, 停机, 无法接通,
通话中; three with an English sentence after the Mandarin one) is spoken by each announcer voice
(Kokoro, 5 Mandarin voices), with and without a ring-back cycle before it, sent through a G.711 mu-law
channel and fed frame by frame to :class:`waihu.cpa.announcements.AnnouncementDetector` with the
recogniser calls use (Whisper-base, n-best 5). Negatives: colour ring-back greetings (彩铃) and
ring-back alone must decide nothing; a busy tone must be ``busy``.

Time to decision = audio heard from the start of the announcement until the frame that decided, plus
the transcription that decided (what a live call waits; the bench itself runs faster than real time).

Usage: WAIHU_DATA_DIR=var python bench/carrier_announcements.py [--voices 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402

FRAME = 320


def phone_channel(pcm: bytes) -> bytes:
    """Through G.711 mu-law and back, as the RTP stream carries it."""
    from tts.audio import ulaw_decode, ulaw_encode

    return ulaw_decode(ulaw_encode(pcm))


def run_one(recognizer: Any, pcm: bytes) -> Any:
    """Feed ``pcm`` to a fresh detector until it decides; the detector afterwards."""
    from waihu.cpa.announcements import AnnouncementDetector, feed_all

    return feed_all(AnnouncementDetector(recognizer), pcm, FRAME)


def main() -> None:
    """Run the benchmark and print a Markdown summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--voices", type=int, default=5, help="announcer voices per wording (1: one each, rotating)"
    )
    parser.add_argument("--json", type=Path, help="write every case as JSON here")
    args = parser.parse_args()

    from sip_peers.early_media import (
        ANNOUNCEMENTS,
        ANNOUNCER_VOICES,
        NOT_ANNOUNCEMENTS,
        busy_tone_audio,
        early_media_audio,
        synthesise,
    )
    from waihu.cpa.tones import ringback, silence
    from waihu.voice.call_builder import default_recognizer

    recognizer = default_recognizer("zh")
    recognizer.transcribe(silence(1.0), 8000)  # load and warm the model outside the timings
    voices = ANNOUNCER_VOICES[: max(1, min(args.voices, len(ANNOUNCER_VOICES)))]
    cases: list[dict[str, Any]] = []
    for index, item in enumerate(ANNOUNCEMENTS):
        for voice in voices if args.voices > 1 else (ANNOUNCER_VOICES[index % len(ANNOUNCER_VOICES)],):
            speech = synthesise(item, voice)
            for cycles in (0, 1):
                pcm = phone_channel(early_media_audio(speech, ringback_cycles=cycles))
                lead_s = 5.0 * cycles if cycles else 0.3
                det = run_one(recognizer, pcm)
                d = det.decision
                cases.append(
                    {
                        "expected": item.label,
                        "got": d.outcome if d else None,
                        "voice": voice,
                        "ringback": cycles,
                        "english": bool(item.english),
                        "speech_s": round(len(speech) / 16000, 2),
                        "decision_s": round(d.audio_s - lead_s + d.last_asr_s, 3) if d else None,
                        "asr_s": round(det.asr_s, 3),
                        "transcripts": det.transcripts,
                    }
                )
                print(
                    f"{item.label:15} {voice:11} rb={cycles} -> {cases[-1]['got']} {det.transcripts}",
                    flush=True,
                )
    negatives: list[dict[str, Any]] = []
    for index, item in enumerate(NOT_ANNOUNCEMENTS):
        for voice in voices if args.voices > 1 else (ANNOUNCER_VOICES[index],):
            det = run_one(
                recognizer, phone_channel(early_media_audio(synthesise(item, voice), ringback_cycles=1))
            )
            negatives.append(
                {"kind": "colour ring-back", "voice": voice, "got": det.decision and det.decision.outcome}
            )
    det = run_one(recognizer, phone_channel(ringback(4)))
    negatives.append({"kind": "ring-back only", "got": det.decision and det.decision.outcome})
    det = run_one(recognizer, phone_channel(busy_tone_audio(8)))
    busy = det.decision
    report(cases, negatives, busy)
    if args.json:
        args.json.write_text(
            json.dumps({"cases": cases, "negatives": negatives}, ensure_ascii=False, indent=1)
        )


def report(cases: list[dict[str, Any]], negatives: list[dict[str, Any]], busy: Any) -> None:
    """Print accuracy per class, confusions and time-to-decision percentiles."""
    correct = sum(c["got"] == c["expected"] for c in cases)
    print(f"\nannouncements: {correct}/{len(cases)} correct ({correct / len(cases):.1%})")
    labels = sorted({c["expected"] for c in cases})
    print("| class | correct | undecided | wrong class |")
    print("|---|---|---|---|")
    for label in labels:
        mine = [c for c in cases if c["expected"] == label]
        ok = sum(c["got"] == label for c in mine)
        none = sum(c["got"] is None for c in mine)
        print(f"| {label} | {ok}/{len(mine)} | {none} | {len(mine) - ok - none} |")
    wrong = Counter((c["expected"], c["got"]) for c in cases if c["got"] not in (c["expected"], None))
    if wrong:
        print("confusions:", dict(wrong))
    times = [c["decision_s"] for c in cases if c["got"] == c["expected"]]
    speech = [c["speech_s"] for c in cases]
    print(
        f"time to decision from the start of the announcement: p50 {percentile(times, 50):.2f} s, "
        f"p90 {percentile(times, 90):.2f} s, max {max(times):.2f} s "
        f"(announcements last {statistics.median(speech):.1f} s median)"
    )
    asr = [c["asr_s"] for c in cases]
    print(
        f"speech recognition per call: p50 {percentile(asr, 50):.2f} s, p90 {percentile(asr, 90):.2f} s CPU"
    )
    false = [n for n in negatives if n["got"] is not None]
    print(f"negatives (colour ring-back, ring-back only): {len(false)}/{len(negatives)} decided (must be 0)")
    if busy is not None:
        print(f"busy tone: {busy.outcome} after {busy.audio_s - 0.3:.2f} s of tone")
    else:
        print("busy tone: not recognised")


if __name__ == "__main__":
    main()
