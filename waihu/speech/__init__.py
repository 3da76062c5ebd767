"""The speech service: one copy of ASR, NLU and TTS per host, shared by every call of every worker.

``waihu speech serve`` runs :mod:`waihu.speech.server`; workers use :mod:`waihu.speech.client`,
whose classes implement the same protocols as the local backends. The protocol is in
``docs/speech-protocol.md``.
"""
