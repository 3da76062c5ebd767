"""One way to build a call: the voice loop for a flow, used by every driver.

``waihu talk`` (virtual clock), ``waihu dial`` (one real SIP call) and the campaign worker all build a
call here, so they cannot drift apart: the same variables (the contact's name fills ``name``), the
same missing-variables check, the same endpointing, prompt cache and recorded prompts (``flow_dir``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from asr.base import UtteranceRecognizer
from asr.endpointing import Endpointer, EndpointerConfig, FrameVad
from dialog.schema import Flow
from nlu.base import IntentClassifier
from tts.base import Synthesizer
from waihu.conversation import Conversation
from waihu.live_data import Fetcher
from waihu.voice.loop import CallControl, SpeechRunner, VoiceLoop
from waihu.voice.speech_output import SpeechOutput
from waihu_env import environment


class MissingVariables(ValueError):
    """The flow needs variables the caller did not give: calling would embarrass the callee."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"missing variables: {', '.join(names)}")
        self.names = names


@dataclass(frozen=True)
class CallSpec:
    """What one call needs besides the audio: the flow, where its recordings are, the variables."""

    flow: Flow
    variables: Mapping[str, str]
    #: Directory the flow's ``audio:`` references are relative to (None: TTS only).
    flow_dir: Path | None = None
    #: Carries out the flow's live-data fetches (None: they take the error branch).
    fetcher: Fetcher | None = None


@dataclass(frozen=True)
class SpeechParts:
    """The heavy parts, loaded once per process and shared by its calls."""

    classifier: IntentClassifier
    recognizer: UtteranceRecognizer
    synthesizer: Synthesizer
    cache_dir: Path
    #: A fresh VAD per call (None: Silero); the fast tests give an energy VAD.
    vad_factory: Callable[[], FrameVad] | None = None


@dataclass
class BuiltCall:
    """A ready voice loop and the pieces a driver reads after the call."""

    loop: VoiceLoop
    conversation: Conversation
    speech: SpeechOutput


def call_variables(variables: Mapping[str, object], name: str | None = None) -> dict[str, str]:
    """A contact's variables as strings; its ``name`` fills the ``name`` variable when not given."""
    values = {key: str(value) for key, value in variables.items()}
    if name:
        values.setdefault("name", name)
    return values


def check_variables(flow: Flow, variables: Mapping[str, str]) -> None:
    """Raise :class:`MissingVariables` when a required variable has no value."""
    missing = flow.missing_variables(variables)
    if missing:
        raise MissingVariables(missing)


def speech_output(spec: CallSpec, parts: SpeechParts, sample_rate: int = 8000) -> SpeechOutput:
    """The robot's voice for this flow: recorded prompts from ``flow_dir``, TTS through the cache."""
    return SpeechOutput(
        parts.synthesizer,
        parts.cache_dir,
        language=spec.flow.flow.language,
        flow_dir=spec.flow_dir,
        sample_rate=sample_rate,
    )


def build_call(
    spec: CallSpec,
    parts: SpeechParts,
    *,
    control: CallControl | None = None,
    on_transcript: Callable[[str, str], None] | None = None,
    sample_rate: int = 8000,
    speech: SpeechOutput | None = None,
    runner: SpeechRunner | None = None,
) -> BuiltCall:
    """Assemble the conversation and its voice loop (checks the variables first)."""
    check_variables(spec.flow, spec.variables)
    speech = speech or speech_output(spec, parts, sample_rate)
    recognizer = parts.recognizer
    for_call = getattr(recognizer, "for_call", None)
    if for_call is not None:  # a shared service queues each call's utterances fairly
        recognizer = for_call(uuid.uuid4().hex[:12])
    conversation = Conversation(
        spec.flow,
        parts.classifier,
        dict(spec.variables),
        auto_complete_transfer=False,
        fetcher=spec.fetcher,
    )
    vad = parts.vad_factory() if parts.vad_factory is not None else None
    endpointer = Endpointer(
        EndpointerConfig(end_silence_s=spec.flow.settings.end_silence), sample_rate, vad=vad
    )
    loop = VoiceLoop(
        conversation,
        recognizer,
        speech,
        endpointer,
        control,
        on_transcript=on_transcript,
        runner=runner,
    )
    return BuiltCall(loop, conversation, speech)


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
    env = environment()
    if env.asr == "vosk":
        from asr.adapters import StreamingAsUtterance
        from asr.vosk_backend import VoskRecognizer

        model = env.vosk_model
        if model is None:
            raise ValueError("WAIHU_ASR=vosk needs WAIHU_VOSK_MODEL (a model directory)")
        grammar = flow_grammar(flow) if flow is not None and env.vosk_grammar else None
        return StreamingAsUtterance(VoskRecognizer(model, 8000, grammar))
    from asr.whisper_backend import WhisperConfig, WhisperRecognizer

    # Mandarin decodes an n-best of 5 for nlu.nbest (measured in bench/speech_intent.py: spoken-intent
    # accuracy 0.77 → 0.92-0.94 with the phonetic repair, for ~55 ms more per utterance); English
    # keeps greedy decoding (not measured with n-best).
    n_best = 5 if language == "zh" else 1
    return WhisperRecognizer(WhisperConfig(language=language, cpu_threads=2, num_hypotheses=n_best))


def default_synthesizer() -> Synthesizer:
    """The robot's voice: Kokoro-82M when prepared, else espeak-ng (see :func:`tts.default_synthesizer`)."""
    from tts import default_synthesizer as tts_default

    return tts_default()
