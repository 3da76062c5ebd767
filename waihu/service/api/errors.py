"""Errors in the shape FastAPI uses for validation (``detail: [{loc, msg, type}]``), naming the field."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status


def field_error(
    loc: list[Any], message: str, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT
) -> HTTPException:
    """A 4xx whose detail names the field at ``loc`` (e.g. ``["query", "cursor"]``)."""
    return HTTPException(code, [{"loc": loc, "msg": message, "type": "value_error"}])


def not_found(what: str) -> HTTPException:
    """404 ``<what> not found``."""
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def conflict(message: str) -> HTTPException:
    """409 with ``message``."""
    return HTTPException(status.HTTP_409_CONFLICT, message)
