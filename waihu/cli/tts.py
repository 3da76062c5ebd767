"""``waihu tts say``: speak a text with the default voice (or a flow's voice and lexicon) into a WAV.

A flow may carry its voice settings in a top-level ``tts`` block (not yet part of the flow schema,
so it is read here and removed before the flow is validated)::

    tts:
      voice: zf_xiaoyi          # a Kokoro voice (``waihu tts say --voice nope x --out a.wav`` lists them)
      speed: 1.0
      lexicon:                  # word → pinyin with tone digits, English respelling or /phonemes/
        还款: huan2 kuan3

"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)

TTS_KEYS = ("voice", "speed", "lexicon")


@dataclass
class FlowVoice:
    """What a flow says about its voice: language, voice name, speed, lexicon."""

    language: str
    voice: str | None = None
    speed: float | None = None
    lexicon: dict[str, str] = field(default_factory=dict)


class FlowVoiceError(ValueError):
    """The flow (or its ``tts`` block) is not usable."""


def _strip_block(text: str, key: str) -> str:
    """Blank out the top-level ``key:`` block (lines keep their numbers for the loader's messages)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        if re.match(rf"{re.escape(key)}\s*:", line):
            inside = True
        elif inside and line.strip() and not line[0].isspace() and not line.startswith("#"):
            inside = False
        out.append("\n" if inside else line)
    return "".join(out)


def load_flow_voice(path: Path) -> FlowVoice:
    """Read a flow's language and its ``tts:`` block (voice, speed, lexicon).

    The flow is validated with the project's loader, without the ``tts`` block that the schema does
    not know yet; raises :class:`FlowVoiceError` with the loader's problems otherwise.
    """
    import yaml

    from dialog.loader import load_flow_text

    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FlowVoiceError(f"cannot read flow {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise FlowVoiceError(f"{path}: a flow file must be a YAML mapping")
    block = raw.get("tts") or {}
    if not isinstance(block, dict):
        raise FlowVoiceError(f"{path}: tts must be a mapping with {', '.join(TTS_KEYS)}")
    unknown = set(block) - set(TTS_KEYS)
    if unknown:
        raise FlowVoiceError(f"{path}: unknown tts key(s) {', '.join(sorted(map(str, unknown)))}")
    loaded = load_flow_text(_strip_block(text, "tts") if "tts" in raw else text, path)
    if loaded.flow is None or loaded.errors:
        raise FlowVoiceError("\n".join(p.format() for p in loaded.errors) or f"{path}: invalid flow")
    lexicon = block.get("lexicon") or {}
    if not isinstance(lexicon, dict) or not all(isinstance(v, str) for v in lexicon.values()):
        raise FlowVoiceError(f"{path}: tts.lexicon must map words to readings (strings)")
    speed = block.get("speed")
    return FlowVoice(
        language=loaded.flow.flow.language,
        voice=str(block["voice"]) if block.get("voice") else None,
        speed=float(speed) if speed is not None else None,
        lexicon={str(k): v for k, v in lexicon.items()},
    )


def say(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What to say.")],
    out: Annotated[Path, typer.Option("--out", help="Output WAV (8 kHz, 16-bit, mono).")],
    flow: Annotated[
        Path | None, typer.Option("--flow", help="Flow YAML: use its language, voice and lexicon.")
    ] = None,
    voice: Annotated[
        str | None, typer.Option("--voice", help="Voice name (e.g. zf_xiaoyi, af_heart).")
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="zh or en (default: the flow's, else zh).")
    ] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", help="Speed factor, 0.5-2.0 (default 1.0).")
    ] = None,
) -> None:
    """Synthesise TEXT with the default voice (Kokoro, else espeak-ng) into an 8 kHz phone WAV."""
    from tts import default_synthesizer
    from tts.audio import PHONE_RATE, resample, write_wav
    from tts.kokoro import UnknownVoiceError
    from tts.kokoro_data import KokoroDataError
    from tts.lexicon import LexiconError

    settings = FlowVoice(language="zh")
    if flow is not None:
        try:
            settings = load_flow_voice(flow)
        except FlowVoiceError as exc:
            console.print(f"[red]error[/] {exc}")
            raise typer.Exit(1) from exc
    language = lang or settings.language
    if language not in ("zh", "en"):
        console.print(f"[red]error[/] --lang must be zh or en, not {language!r}")
        raise typer.Exit(2)
    try:
        synthesizer = default_synthesizer(
            language,
            voice or settings.voice,
            lexicon=settings.lexicon or None,
            speed=speed if speed is not None else settings.speed,
        )
    except (UnknownVoiceError, LexiconError, KokoroDataError, ValueError) as exc:
        console.print(f"[red]error[/] {exc}")
        raise typer.Exit(2) from exc
    started = time.perf_counter()
    audio = synthesizer.synthesize(text, language=language)
    elapsed = time.perf_counter() - started
    write_wav(out, resample(audio, PHONE_RATE))
    voice_name = getattr(synthesizer, "voice_for", lambda _lang: "?")(language)
    console.print(
        f"[green]ok[/] {out}: {audio.duration_s:.2f} s, voice {voice_name} ({type(synthesizer).__name__}), "
        f"synthesised in {elapsed:.2f} s"
    )
