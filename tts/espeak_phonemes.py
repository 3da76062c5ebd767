"""English text → Kokoro phonemes with libespeak-ng 1.52 (``espeakng-loader``), no spaCy, no downloads.

misaki's own English G2P needs spaCy models (downloaded at run time) and its espeak fallback needs
``phonemizer``; this module calls ``espeak_TextToPhonemes`` through ctypes instead and applies
misaki's espeak → Kokoro mapping (American English, ``EspeakFallback``).

libespeak-ng keeps global state and :mod:`tts.espeak` already drives the same library for speech
in another thread, so this module loads a private *copy* of the shared object (a new file is a new
dlopen handle, hence separate state) under another SONAME, with ``RTLD_DEEPBIND`` so that the copy
binds to its own symbols rather than those of the ``RTLD_GLOBAL`` instance. Calls are serialised
with a lock.
"""

from __future__ import annotations

import ctypes
import os
import re
import tempfile
import threading
from pathlib import Path

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
# bit 1: IPA; bit 7: tie multi-letter phonemes with the character in bits 8-23 ("^").
_PHONEME_MODE = 0x02 | 0x80 | (ord("^") << 8)
_SONAME = b"libespeak-ng.so.1\x00"
_PRIVATE_SONAME = b"libwaihu-esp.so.1\x00"

# misaki 0.9.4 misaki/espeak.py EspeakFallback (Apache-2.0): espeak IPA → Kokoro's phoneme set.
_E2M = sorted(
    {
        "ʔˌn\u0329": "ʔn",
        "ʔn\u0329": "ʔn",
        "a^ɪ": "I",
        "a^ʊ": "W",
        "d^ʒ": "ʤ",
        "e^ɪ": "A",
        "e": "A",
        "t^ʃ": "ʧ",
        "ɔ^ɪ": "Y",
        "ə^l": "ᵊl",
        "ʲo": "jo",
        "ʲə": "jə",
        "ʲ": "",
        "ɚ": "əɹ",
        "r": "ɹ",
        "x": "k",
        "ç": "k",
        "ɐ": "ə",
        "ɬ": "l",
        "\u0303": "",
    }.items(),
    key=lambda kv: -len(kv[0]),
)


def to_kokoro(ipa: str) -> str:
    """Map espeak-ng's American-English IPA (with ``^`` ties) to Kokoro's phonemes."""
    ps = ipa.strip()
    for old, new in _E2M:
        ps = ps.replace(old, new)
    ps = re.sub(r"(\S)\u0329", r"ᵊ\1", ps).replace(chr(809), "")
    ps = ps.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə")
    ps = ps.replace("ː", "").replace("o", "ɔ")
    ps = ps.replace("ɾ", "T").replace("ʔ", "t")
    return ps.replace("^", "")


class EspeakPhonemizer:
    """Text → espeak-ng IPA for one voice (``en-us`` by default); thread-safe."""

    def __init__(self, voice: str = "en-us") -> None:
        import espeakng_loader

        self.voice = voice
        self._lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="waihu-espeak-phonemes-"))
        private = self._tmp / "libespeak-ng-phonemes.so"
        image = Path(espeakng_loader.get_library_path()).read_bytes()
        # glibc answers dlopen("libespeak-ng.so.1") (pyttsx3's binding) with any loaded object of that
        # SONAME, this copy included: give the copy a name of its own (same length, ELF unchanged).
        private.write_bytes(image.replace(_SONAME, _PRIVATE_SONAME))
        self._lib = ctypes.CDLL(str(private), mode=os.RTLD_LOCAL | getattr(os, "RTLD_DEEPBIND", 0))
        private.unlink()  # the mapping stays valid; nothing is left behind in /tmp
        self._tmp.rmdir()
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_void_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        data_parent = os.path.dirname(espeakng_loader.get_data_path())  # the dir holding espeak-ng-data
        if (
            lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent.encode(), _ESPEAK_INITIALIZE_DONT_EXIT
            )
            <= 0
        ):
            raise RuntimeError("espeak-ng (phonemes) initialisation failed")
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"unknown espeak-ng voice {voice!r}")

    def ipa(self, text: str) -> list[str]:
        """IPA of ``text``, one string per clause espeak finds (punctuation is not kept)."""
        if not text.strip():
            return []
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(buf))
        clauses: list[str] = []
        with self._lock:
            while pointer.value:
                result = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEME_MODE)
                if result:
                    clause = ctypes.string_at(result).decode("utf-8", "replace").strip()
                    if clause:
                        clauses.append(clause)
        return clauses

    def phonemes(self, text: str) -> str:
        """Kokoro phonemes of ``text`` (espeak's clauses joined with commas)."""
        return ", ".join(to_kokoro(clause) for clause in self.ipa(text))


_phonemizer: EspeakPhonemizer | None = None
_phonemizer_lock = threading.Lock()


def english_phonemizer() -> EspeakPhonemizer:
    """The process's American-English phonemiser (created on first use)."""
    global _phonemizer
    with _phonemizer_lock:
        if _phonemizer is None:
            _phonemizer = EspeakPhonemizer("en-us")
        return _phonemizer
