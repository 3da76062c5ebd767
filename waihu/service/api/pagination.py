"""Opaque keyset cursors: base64url of the last row's sort key."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from waihu.service.api.errors import field_error

T = TypeVar("T")

LimitQuery = Annotated[int, Query(ge=1, le=500, description="Page size.")]
CursorQuery = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page; omit for the first.")
]


def encode_cursor(*values: Any) -> str:
    """The cursor for a page that ended at a row with these sort-key ``values``."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, types: tuple[type, ...]) -> list[Any]:
    """The sort key in ``cursor``; a 422 naming ``cursor`` when it is not one this API made."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise field_error(["query", "cursor"], "cursor_invalid") from exc
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True))
    ):
        raise field_error(["query", "cursor"], "cursor_invalid")
    return values


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    """The page envelope: ``{"items": [...], "next_cursor": ...}``."""
    return {"items": items, "next_cursor": next_cursor}


class Page(BaseModel, Generic[T]):
    """One page of a list: its items and the cursor of the next page (null: the last page)."""

    items: list[T]
    next_cursor: str | None = Field(description="Pass it back as `cursor` for the next page.")
