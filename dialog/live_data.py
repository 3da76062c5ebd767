"""Live data (数据同步), the pure part: render a fetch URL, map a JSON answer into call variables.

No I/O here: the drivers (``waihu.live_data``) send the request; both the real HTTP fetcher and the
flow-test fixtures map the answer with :func:`map_answer`, so a fixture exercises the same mapping.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

#: A mapped value longer than this is refused: it would be read out to the callee.
MAX_VALUE_CHARS = 500
#: Items of a JSON list are joined with this when a list fills a variable (zh prompts).
LIST_SEPARATOR = "、"

_FORMATTER = string.Formatter()


class MappingError(ValueError):
    """The answer lacks a mapped field, or a field cannot be said (object, null, too long)."""


def render_url(template: str, variables: Mapping[str, str]) -> str:
    """Fill ``{variable}`` placeholders, URL-encoding each value (a value never adds path segments)."""
    parts: list[str] = []
    for literal, field_name, _spec, _conv in _FORMATTER.parse(template):
        parts.append(literal)
        if field_name is not None:
            parts.append(quote(str(variables.get(field_name, "")), safe=""))
    return "".join(parts)


def resolve_path(document: Any, path: str) -> Any:
    """The value at dotted ``path`` (``bill.amount``, ``plans.0``); MappingError when absent."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise MappingError(f"field {path!r} is missing from the answer")
    return current


def _scalar(value: Any, path: str) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return " ".join(value.split())  # no line breaks read out
    raise MappingError(f"field {path!r} is {type(value).__name__ if value is not None else 'null'}")


def as_variable(value: Any, path: str) -> str:
    """A JSON value as a variable's text: scalars as written, a list of scalars joined with 、."""
    text = LIST_SEPARATOR.join(_scalar(item, path) for item in value) if isinstance(value, list) else None
    if text is None:
        text = _scalar(value, path)
    if not text.strip():
        raise MappingError(f"field {path!r} is empty")
    if len(text) > MAX_VALUE_CHARS:
        raise MappingError(f"field {path!r} is longer than {MAX_VALUE_CHARS} characters")
    return text


def map_answer(document: Any, mapping: Mapping[str, str]) -> dict[str, str]:
    """Every mapped variable's value from ``document``; MappingError names the first field that fails."""
    return {variable: as_variable(resolve_path(document, path), path) for variable, path in mapping.items()}
