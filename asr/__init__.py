"""waihu speech recognition: VAD, endpointing and ASR backends.

Importing this package is cheap: heavy dependencies (onnxruntime, vosk, faster-whisper) are imported
lazily inside the modules that need them.
"""

from asr.base import StreamingRecognizer, Transcript, UtteranceRecognizer, Word

__all__ = ["StreamingRecognizer", "Transcript", "UtteranceRecognizer", "Word"]
