"""Where waihu keeps converted models and caches."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``$WAIHU_DATA_DIR``, else ``~/.local/share/waihu``."""
    configured = os.environ.get("WAIHU_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "waihu"
