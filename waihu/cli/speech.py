"""``waihu speech serve``: the host's speech service (ASR, NLU and TTS for every worker's calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from waihu.speech.server import SpeechEngines

speech_app = typer.Typer(help="The speech service.", no_args_is_help=True)


def warm_up(engines: SpeechEngines) -> None:
    """Load the models and run each once: a first synthesis also loads the Mandarin G2P's
    dictionaries (jieba, pypinyin; seconds), which the first caller would otherwise wait for."""
    for language in ("zh", "en"):
        engines.recognizer(language).transcribe(bytes(8000), 8000)  # 0.5 s of silence
    synthesizer = engines.synthesizer()
    synthesizer.synthesize("您好，张先生。", language="zh")
    synthesizer.synthesize("Hello, Mr. Smith.", language="en")


@speech_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback: same-host workers only).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 7070,
    threads: Annotated[
        int, typer.Option(min=1, max=64, help="Model jobs run at once (about the cores).")
    ] = 2,
    warm: Annotated[bool, typer.Option(help="Load the models before accepting calls.")] = True,
) -> None:
    """Serve ASR, NLU and TTS over HTTP until interrupted (protocol: docs/speech-protocol.md)."""
    import uvicorn

    from waihu.speech.server import create_speech_app, default_engines

    engines = default_engines()
    if warm:  # the first call should not pay for loading Whisper and the voice
        warm_up(engines)
    app = create_speech_app(engines, threads=threads)
    uvicorn.run(app, host=host, port=port, log_level="warning")
