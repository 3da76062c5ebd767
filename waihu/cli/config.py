"""``waihu config``: every ``WAIHU_*`` setting, its value in this environment and what it does."""

from __future__ import annotations

import re

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from waihu_env import Environment, environment

console = Console()
_URL_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]+@")


def shown(name: str, value: object) -> str:
    """A setting's value for display: passwords in URLs hidden."""
    text = "" if value is None else str(value)
    return _URL_PASSWORD.sub(r"\1***@", text) if name.endswith("url") else text


def config() -> None:
    """Show every WAIHU_* environment variable, its current value and its meaning."""
    try:
        env = environment()
    except ValidationError as exc:  # a bad value: name the variable, as the service would at start
        for error in exc.errors():
            variable = str(error["loc"][0]) if error["loc"] else "?"
            typer.echo(f"WAIHU_{variable.upper()}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc
    table = Table(title="waihu settings (environment variables)")
    for column in ("variable", "value", "meaning"):
        table.add_column(column)
    for name, field in Environment.model_fields.items():
        table.add_row(f"WAIHU_{name.upper()}", shown(name, getattr(env, name)), field.description or "")
    console.print(table)
