"""``waihu talk``: the real voice loop against a scripted customer, on a virtual clock."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asr.base import UtteranceRecognizer
from dialog.loader import load_flow
from dialog.schema import Flow
from dialog.state import CallResult
from nlu.base import IntentClassifier
from nlu.paths import data_dir
from tts.audio import write_wav
from tts.base import Audio, Synthesizer
from waihu.voice.call_builder import (
    CallSpec,
    SpeechParts,
    build_call,
    call_variables,
    default_recognizer,
    default_synthesizer,
)
from waihu.voice.customer import CustomerScript, ScriptedCustomer
from waihu.voice.loop import FRAME_S, VoiceLoop


@dataclass
class TalkReport:
    """Everything a simulated call produced."""

    result: CallResult
    transcript: list[tuple[float, str, str]] = field(default_factory=list)
    loop: VoiceLoop | None = None
    wall_s: float = 0.0
    out_dir: Path | None = None


def _stereo(left: bytes, right: bytes) -> bytes:
    a = np.frombuffer(left, dtype="<i2")
    b = np.frombuffer(right, dtype="<i2")
    n = max(len(a), len(b))
    out = np.zeros((n, 2), dtype="<i2")
    out[: len(a), 0] = a
    out[: len(b), 1] = b
    return out.tobytes()


def _write_stereo(path: Path, callee: bytes, robot: bytes, rate: int) -> None:
    import wave

    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(_stereo(callee, robot))


def run_talk(
    flow: Flow,
    script: CustomerScript,
    script_dir: Path,
    *,
    flow_dir: Path,
    classifier: IntentClassifier,
    recognizer: UtteranceRecognizer,
    synthesizer: Synthesizer,
    out_dir: Path | None = None,
    sample_rate: int = 8000,
) -> TalkReport:
    """Play the script against the flow through the full voice loop; optionally write the audio."""
    started = time.perf_counter()
    parts = SpeechParts(classifier, recognizer, synthesizer, data_dir() / "cache" / "prompts")
    spec = CallSpec(flow, call_variables(script.variables), flow_dir=flow_dir)
    report = TalkReport(result=None)  # type: ignore[arg-type]
    built = build_call(
        spec,
        parts,
        on_transcript=lambda who, text: report.transcript.append((built.loop.time_s, who, text)),
        sample_rate=sample_rate,
    )
    loop, conversation, speech = built.loop, built.conversation, built.speech
    customer = ScriptedCustomer(script, script_dir, speech, sample_rate)
    callee_track: list[bytes] = []
    robot_track: list[bytes] = []
    loop.start()
    max_frames = int(script.max_call_s / FRAME_S)
    while not loop.finished and loop.frames < max_frames:
        if customer.wants_hangup:
            loop.callee_hung_up()
            break
        frame = customer.frame(loop)
        callee_track.append(frame)
        robot_track.append(loop.step(frame))
    if not loop.finished:
        loop.callee_hung_up()
    report.result = conversation.result()
    report.loop = loop
    report.wall_s = time.perf_counter() - started
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        callee, robot = b"".join(callee_track), b"".join(robot_track)
        write_wav(out_dir / "customer.wav", Audio(callee, sample_rate))
        write_wav(out_dir / "robot.wav", Audio(robot, sample_rate))
        _write_stereo(out_dir / "call.wav", callee, robot, sample_rate)
        (out_dir / "result.json").write_text(
            json.dumps(
                {
                    "result": report.result.model_dump(),
                    "transcript": [
                        {"t": round(t, 2), "who": who, "text": text} for t, who, text in report.transcript
                    ],
                    "latencies_ms": [round(t.latency_ms) for t in loop.timings],
                    "events": [
                        {"t": round(e.time_s, 2), "kind": e.kind, "detail": e.detail} for e in loop.events
                    ],
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        report.out_dir = out_dir
    return report


def talk_from_files(
    flow_path: Path, script_path: Path, out_dir: Path | None, classifier_kind: str = "default"
) -> TalkReport:
    """Load everything and run :func:`run_talk`."""
    from nlu.factory import build_classifier

    flow = load_flow(flow_path)
    script = CustomerScript.load(script_path)
    return run_talk(
        flow,
        script,
        script_path.parent,
        flow_dir=flow_path.parent,
        classifier=build_classifier(flow, classifier_kind),
        recognizer=default_recognizer(flow.flow.language, flow),
        synthesizer=default_synthesizer(),
        out_dir=out_dir,
    )
