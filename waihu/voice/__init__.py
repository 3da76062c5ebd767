"""The audio conversation loop: VAD, ASR, NLU, engine, TTS, barge-in and timers on 20 ms frames."""
