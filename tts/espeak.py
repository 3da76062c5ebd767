"""espeak-ng TTS through pyttsx3's ctypes binding, on the libespeak-ng 1.52 from PyPI ``espeakng-loader``.

Debian 12's espeak-ng 1.51 has a broken ``cmn`` voice, so the 1.52 library from ``espeakng-loader``
is loaded (``RTLD_GLOBAL``, with ``ESPEAK_DATA_PATH`` pointing at its data) before pyttsx3 is
imported; pyttsx3's ``drivers._espeak`` binding then binds to it.

pyttsx3's engine (``save_to_file`` + ``runAndWait``, even followed by ``_espeak.Synchronize()``) was
measured to be racy on Linux: properties set for one request were applied to another, some
utterances were cancelled (empty audio) and results arrived late (6-10 wrong results in 40). So the
engine object is not used: espeak-ng is initialised in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode through
pyttsx3's binding, where ``espeak_Synth`` returns only after every audio callback has run. The
library is process-global state, so every request goes through a single worker thread.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import importlib.metadata
import logging
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from tts.audio import resample
from tts.base import Audio

log = logging.getLogger(__name__)

#: Language code → espeak-ng voice id (espeak-ng 1.52 naming).
DEFAULT_VOICES: dict[str, str] = {
    "zh": "sit/cmn",
    "cmn": "sit/cmn",
    "en": "gmw/en-us",
    "ko": "ko",
}
NATIVE_RATE = 22050
BACKEND_REVISION = 2  # bump when the synthesis pipeline changes (invalidates prompt caches)


def _load_espeak() -> Any:
    """Load libespeak-ng 1.52 from espeakng-loader, then import pyttsx3's binding to it (``_espeak``)."""
    import espeakng_loader

    os.environ["ESPEAK_DATA_PATH"] = espeakng_loader.get_data_path()
    ctypes.CDLL(espeakng_loader.get_library_path(), mode=ctypes.RTLD_GLOBAL)
    # _espeak dlopens "libespeak-ng.so.1": the soname of the library loaded above, so it binds to 1.52.
    from pyttsx3.drivers import _espeak

    return _espeak


@dataclass
class _Request:
    text: str
    voice: str
    rate: int
    future: concurrent.futures.Future[Audio] = field(default_factory=concurrent.futures.Future)


class _EspeakWorker:
    """The one thread that owns the process's pyttsx3 engine."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name="espeak-tts", daemon=True)
        self._thread.start()
        self.library_version = self._ready.result(timeout=30)

    def submit(self, text: str, voice: str, rate: int) -> concurrent.futures.Future[Audio]:
        request = _Request(text, voice, rate)
        self._queue.put(request)
        return request.future

    def _run(self) -> None:
        try:
            _espeak = _load_espeak()
            chunks: list[bytes] = []

            def on_audio(wav: Any, numsamples: int, _events: Any) -> int:
                if numsamples > 0:
                    chunks.append(ctypes.string_at(wav, numsamples * 2))
                return 0  # 0 = continue synthesis

            rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
            if rate <= 0:
                raise RuntimeError("espeak-ng initialisation failed")
            _espeak.SetSynthCallback(on_audio)
            info = _espeak.Info()
            version = info.decode() if isinstance(info, bytes) else str(info)
            self._ready.set_result(f"espeak-ng {version}, pyttsx3 {importlib.metadata.version('pyttsx3')}")
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        while True:
            request = self._queue.get()
            if not request.future.set_running_or_notify_cancel():
                continue
            try:
                if _espeak.SetVoiceByName(request.voice.encode()) != 0:
                    raise ValueError(f"unknown espeak-ng voice {request.voice!r}")
                _espeak.SetParameter(_espeak.RATE, int(request.rate), 0)
                chunks.clear()
                status = _espeak.Synth(request.text, flags=_espeak.CHARS_UTF8 | _espeak.ENDPAUSE)
                if status != 0:
                    raise RuntimeError(f"espeak_Synth failed with status {status}")
                request.future.set_result(Audio(b"".join(chunks), rate))
            except BaseException as exc:
                request.future.set_exception(exc)


_worker: _EspeakWorker | None = None
_worker_lock = threading.Lock()


def _get_worker() -> _EspeakWorker:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = _EspeakWorker()
        return _worker


class EspeakSynthesizer:
    """:class:`tts.base.Synthesizer` on espeak-ng 1.52 (Mandarin ``sit/cmn``, English ``gmw/en-us``).

    Output is resampled from espeak's 22050 Hz to ``sample_rate`` (None keeps 22050 Hz). Thread-safe:
    requests are serialised on the process's single espeak worker thread.
    """

    def __init__(
        self,
        sample_rate: int | None = 8000,
        default_rate: int = 150,
        voices: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.default_rate = default_rate
        self.voices = {**DEFAULT_VOICES, **(voices or {})}
        self.timeout_s = timeout_s
        self._worker = _get_worker()
        self.version = f"{self._worker.library_version}, waihu-espeak/{BACKEND_REVISION}"

    def voice_for(self, language: str) -> str:
        """The espeak-ng voice id used for ``language`` (an unknown code is used as a voice id)."""
        return self.voices.get(language, language)

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Audio:
        """Synthesise ``text`` in ``language`` at ``rate`` words per minute."""
        if not text.strip():
            return Audio(b"", self.sample_rate or NATIVE_RATE)
        voice = self.voice_for(language)
        audio = self._worker.submit(text, voice, rate or self.default_rate).result(timeout=self.timeout_s)
        if self.sample_rate is not None:
            audio = resample(audio, self.sample_rate)
        return audio
