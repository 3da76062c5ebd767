"""Adapters between recogniser interfaces."""

from __future__ import annotations

from asr.base import StreamingRecognizer, Transcript

FRAME_BYTES_8K = 320


class StreamingAsUtterance:
    """Use a streaming recogniser (vosk) where the loop hands over whole VAD-segmented utterances."""

    def __init__(self, recognizer: StreamingRecognizer, chunk_bytes: int = FRAME_BYTES_8K) -> None:
        self.recognizer = recognizer
        self.chunk_bytes = chunk_bytes

    def transcribe(self, pcm: bytes, sample_rate: int, *, initial_prompt: str | None = None) -> Transcript:
        """Feed the utterance in 20 ms chunks and return the final result (prompts are not used)."""
        del sample_rate, initial_prompt  # the streaming recogniser was built for its rate
        self.recognizer.reset()
        for start in range(0, len(pcm), self.chunk_bytes):
            self.recognizer.accept(pcm[start : start + self.chunk_bytes])
        return self.recognizer.finish()
