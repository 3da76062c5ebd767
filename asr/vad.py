"""Silero VAD (v6 ONNX weights from PyPI ``silero-vad``) run with onnxruntime, without torch.

The ``silero-vad`` package hard-depends on torch, so it is installed with ``pip install --no-deps``
and never imported: only its ``data/silero_vad.onnx`` file is located with
:func:`importlib.util.find_spec`.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr.pcm import BYTES_PER_SAMPLE, check_rate

#: Samples per model call and context samples prepended to each call, by sample rate.
CHUNK_SAMPLES = {8000: 256, 16000: 512}
CONTEXT_SAMPLES = {8000: 32, 16000: 64}

_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


@dataclass(frozen=True)
class VadFrame:
    """Speech probability of one model chunk; samples are counted from the start of the stream."""

    start_sample: int
    end_sample: int
    probability: float
    sample_rate: int

    @property
    def start_s(self) -> float:
        """Start time in seconds."""
        return self.start_sample / self.sample_rate

    @property
    def end_s(self) -> float:
        """End time in seconds."""
        return self.end_sample / self.sample_rate


def silero_model_path() -> Path:
    """Locate ``silero_vad/data/silero_vad.onnx`` in the installed package without importing it."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package silero-vad is not installed (pip install --no-deps silero-vad==6.2.3)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "silero_vad.onnx"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("silero_vad/data/silero_vad.onnx not found in the silero-vad package")


def _session(model_path: Path) -> Any:
    """One onnxruntime session per model file and process (``run`` is thread-safe)."""
    key = str(model_path.resolve())
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(key, sess_options=options, providers=["CPUExecutionProvider"])
            _sessions[key] = session
        return session


class SileroVad:
    """Streaming Silero VAD for one audio stream.

    Feed 16-bit mono PCM of any length with :meth:`feed`; it returns one :class:`VadFrame` per
    complete model chunk (256 samples = 32 ms at 8 kHz, 512 samples = 32 ms at 16 kHz). Incomplete
    chunks are kept until more audio arrives. The onnxruntime session is shared per process; the
    recurrent state and context are per instance.
    """

    def __init__(self, sample_rate: int = 8000, model_path: Path | None = None) -> None:
        import numpy as np

        self.sample_rate = check_rate(sample_rate)
        self.chunk_samples = CHUNK_SAMPLES[sample_rate]
        self.context_samples = CONTEXT_SAMPLES[sample_rate]
        self._session = _session(model_path or silero_model_path())
        self._sr = np.array(sample_rate, dtype=np.int64)
        self._pending = b""
        self._samples_done = 0
        self.reset()

    @property
    def chunk_s(self) -> float:
        """Duration of one model chunk in seconds."""
        return self.chunk_samples / self.sample_rate

    @property
    def samples_fed(self) -> int:
        """Total samples fed since the last reset (including a pending partial chunk)."""
        return self._samples_done + len(self._pending) // BYTES_PER_SAMPLE

    def reset(self) -> None:
        """Forget the recurrent state, the context, pending audio and the time origin."""
        import numpy as np

        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, self.context_samples), dtype=np.float32)
        self._pending = b""
        self._samples_done = 0

    def feed(self, pcm: bytes) -> list[VadFrame]:
        """Feed 16-bit mono PCM; return the probabilities of every chunk completed by it."""
        import numpy as np

        data = self._pending + pcm
        chunk_bytes = self.chunk_samples * BYTES_PER_SAMPLE
        n_chunks = len(data) // chunk_bytes
        self._pending = data[n_chunks * chunk_bytes :]
        frames: list[VadFrame] = []
        if n_chunks == 0:
            return frames
        samples = np.frombuffer(data[: n_chunks * chunk_bytes], dtype="<i2").astype(np.float32) / 32768.0
        for i in range(n_chunks):
            chunk = samples[i * self.chunk_samples : (i + 1) * self.chunk_samples].reshape(1, -1)
            prob = self._run(np.concatenate([self._context, chunk], axis=1))
            self._context = chunk[:, -self.context_samples :]
            start = self._samples_done
            self._samples_done += self.chunk_samples
            frames.append(VadFrame(start, self._samples_done, prob, self.sample_rate))
        return frames

    def _run(self, x: Any) -> float:
        out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        return float(out[0][0])
