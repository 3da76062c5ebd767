"""``waihu talk``: the real voice loop against a scripted customer, on a virtual clock."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asr.base import UtteranceRecognizer
from asr.endpointing import Endpointer, EndpointerConfig
from dialog.loader import load_flow
from dialog.schema import Flow
from dialog.state import CallResult
from nlu.base import IntentClassifier
from nlu.paths import data_dir
from tts.audio import write_wav
from tts.base import Audio, Synthesizer
from waihu.conversation import Conversation
from waihu.voice.customer import CustomerScript, ScriptedCustomer
from waihu.voice.loop import FRAME_S, VoiceLoop
from waihu.voice.speech_output import SpeechOutput


@dataclass
class TalkReport:
    """Everything a simulated call produced."""

    result: CallResult
    transcript: list[tuple[float, str, str]] = field(default_factory=list)
    loop: VoiceLoop | None = None
    wall_s: float = 0.0
    out_dir: Path | None = None


def flow_grammar(flow: Flow) -> list[str]:
    """A vosk phrase list from the flow: every example, keyword and FAQ question, plus ``[unk]``."""
    phrases = [text for intent in flow.intents.values() for text in (*intent.examples, *intent.keywords)]
    phrases += [text for entry in flow.kb_entries for text in (*entry.questions, *entry.keywords)]
    return [*dict.fromkeys(phrase.lower() for phrase in phrases), "[unk]"]


def default_recognizer(language: str, flow: Flow | None = None) -> UtteranceRecognizer:
    """The recogniser calls use: Whisper-base by default; vosk when ``WAIHU_ASR=vosk``.

    vosk reads its model from ``WAIHU_VOSK_MODEL`` (see ``waihu models install vosk``); with
    ``WAIHU_VOSK_GRAMMAR=1`` and a flow it is restricted to the flow's phrases.
    """
    if os.environ.get("WAIHU_ASR", "whisper") == "vosk":
        from asr.adapters import StreamingAsUtterance
        from asr.vosk_backend import VoskRecognizer

        model = os.environ.get("WAIHU_VOSK_MODEL")
        if not model:
            raise ValueError("WAIHU_ASR=vosk needs WAIHU_VOSK_MODEL (a model directory)")
        grammar = (
            flow_grammar(flow) if flow is not None and os.environ.get("WAIHU_VOSK_GRAMMAR") == "1" else None
        )
        return StreamingAsUtterance(VoskRecognizer(model, 8000, grammar))
    from asr.whisper_backend import WhisperConfig, WhisperRecognizer

    return WhisperRecognizer(WhisperConfig(language=language, cpu_threads=2))


def default_synthesizer() -> Synthesizer:
    """espeak-ng 1.52 through pyttsx3's binding."""
    from tts.espeak import EspeakSynthesizer

    return EspeakSynthesizer()


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
    cache_dir = data_dir() / "cache" / "prompts"
    speech = SpeechOutput(
        synthesizer, cache_dir, language=flow.flow.language, flow_dir=flow_dir, sample_rate=sample_rate
    )
    report = TalkReport(result=None)  # type: ignore[arg-type]
    conversation = Conversation(flow, classifier, script.variables, auto_complete_transfer=False)
    endpointer = Endpointer(EndpointerConfig(end_silence_s=flow.settings.end_silence), sample_rate)
    loop = VoiceLoop(
        conversation,
        recognizer,
        speech,
        endpointer,
        on_transcript=lambda who, text: report.transcript.append((loop.time_s, who, text)),
    )
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
