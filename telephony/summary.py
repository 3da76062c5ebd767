"""Encoding the transfer summary into a SIP header value."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

SUMMARY_HEADER = "X-Waihu-Summary"
#: Trunks and proxies often drop requests whose headers exceed a few kB; keep the summary small.
MAX_HEADER_BYTES = 4000


def encode_summary(summary: Any) -> str:
    """JSON (UTF-8, compact) then URL-safe base64 without padding: safe in a header and in a URI.

    ``summary`` is a dataclass (e.g. :class:`dialog.actions.TransferSummary`) or a JSON-able mapping.
    Raises ValueError when the encoded value exceeds :data:`MAX_HEADER_BYTES`.
    """
    is_instance = dataclasses.is_dataclass(summary) and not isinstance(summary, type)
    data = dataclasses.asdict(summary) if is_instance else summary
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    value = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    if len(value) > MAX_HEADER_BYTES:
        raise ValueError(f"summary header too large: {len(value)} bytes > {MAX_HEADER_BYTES}")
    return value


def decode_summary(value: str) -> Any:
    """Inverse of :func:`encode_summary` (for the seat side and tests)."""
    padded = value + "=" * (-len(value) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
