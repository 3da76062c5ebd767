"""Encoding the transfer summary into a SIP header value."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

SUMMARY_HEADER = "X-Waihu-Summary"
#: Trunks and proxies often drop requests whose headers exceed a few kB; keep the summary small.
MAX_HEADER_BYTES = 4000


def _encode(data: Any) -> str:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def encode_summary(summary: Any, *, reference: str | None = None) -> str:
    """JSON (UTF-8, compact) then URL-safe base64 without padding: safe in a header and in a URI.

    ``summary`` is a dataclass (e.g. :class:`dialog.actions.TransferSummary`) or a JSON-able mapping.
    Never more than :data:`MAX_HEADER_BYTES`: a larger summary is cut (oldest ``last_turns`` first,
    then long texts) and marked ``"truncated": true`` with ``"ref": reference`` (the call's id, where
    the seat finds the whole summary, e.g. in the ``seat.offered`` webhook). Raising instead would
    leave the callee in silence in the middle of a transfer.
    """
    is_instance = dataclasses.is_dataclass(summary) and not isinstance(summary, type)
    data = dataclasses.asdict(summary) if is_instance else summary
    value = _encode(data)
    if len(value) <= MAX_HEADER_BYTES:
        return value
    cut: dict[str, Any] = dict(data) if isinstance(data, dict) else {"summary": data}
    cut["truncated"], cut["ref"] = True, reference
    turns = list(cut.get("last_turns") or [])
    while turns and len(_encode(cut | {"last_turns": turns})) > MAX_HEADER_BYTES:
        turns.pop(0)  # the latest turns matter most to the seat
    if "last_turns" in cut:
        cut["last_turns"] = turns
    limit = 200
    while len(value := _encode(cut)) > MAX_HEADER_BYTES and limit >= 10:
        cut = {k: _shorten(v, limit) for k, v in cut.items()}
        limit //= 2
    if len(value) > MAX_HEADER_BYTES:  # pathological shapes (thousands of keys): the pointer alone
        value = _encode({"truncated": True, "ref": reference})
    log.warning("transfer summary cut to %d bytes (ref %s)", len(value), reference)
    return value


def _shorten(value: Any, limit: int) -> Any:
    """Strings cut to ``limit`` characters (with …), lists to their last ``limit`` items, recursively."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1] + "…"
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value[-limit:]]
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in list(value.items())[:limit]}
    return value


def decode_summary(value: str) -> Any:
    """Inverse of :func:`encode_summary` (for the seat side and tests)."""
    padded = value + "=" * (-len(value) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
