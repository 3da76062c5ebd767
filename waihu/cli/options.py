"""Option parsing shared by the CLI's commands."""

from __future__ import annotations

import typer


def parse_vars(pairs: list[str] | None) -> dict[str, str]:
    """``--var key=value`` options as a dict; a malformed pair is a clear error."""
    variables: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--var expects key=value, got {pair!r}")
        variables[key.strip()] = value
    return variables
