"""Call recordings on disk: which stored paths may be read (served, erased, purged)."""

from __future__ import annotations

import logging
from pathlib import Path as FsPath

log = logging.getLogger(__name__)

#: Audio files a recording may be, with their media types.
AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac"}


def recording_file(recording_path: str | None, root: FsPath | None) -> FsPath | None:
    """The recording as an existing audio file inside ``root``, else None.

    Without a configured recordings directory (``WAIHU_RECORDINGS_DIR``) nothing is served: a stored
    path alone must never let the API read an arbitrary file.
    """
    if not recording_path or root is None:
        return None
    path = FsPath(recording_path).resolve()
    if not path.is_relative_to(root.resolve()):
        log.warning("recording path outside %s refused", root)
        return None
    if path.suffix.lower() not in AUDIO_TYPES or not path.is_file():
        return None
    return path
