"""Command-line interface: ``waihu`` and its sub-commands (one module per command group)."""

from waihu.cli.main import app, main

__all__ = ["app", "main"]
