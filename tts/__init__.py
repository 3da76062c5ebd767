"""waihu speech synthesis: Synthesizer protocol, espeak-ng backend, prompt cache, recorded prompts.

Importing this package is cheap: pyttsx3/espeak-ng and soxr are imported lazily.
"""

from tts.base import Audio, Synthesizer

__all__ = ["Audio", "Synthesizer"]
