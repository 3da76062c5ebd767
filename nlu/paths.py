"""Where waihu keeps converted models and caches."""

from __future__ import annotations

from pathlib import Path

from waihu_env import environment


def data_dir() -> Path:
    """``$WAIHU_DATA_DIR``, else ``~/.local/share/waihu`` (see :mod:`waihu_env`)."""
    return environment().data_dir
