"""Shorthands for the API's usual problems, each a code of the registry (:mod:`waihu.service.problems`).

Errors keep the shape FastAPI uses for validation (``detail: [{loc, msg, type}]``) where they name a
field; the body adds ``code`` and ``params`` so clients can word them in their own language.
"""

from __future__ import annotations

from typing import Any

from fastapi import status

from waihu.service.problems import Param, Problem, explained, field_problem


def field_error(
    loc: list[Any], code: str, status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT, **params: Param
) -> Problem:
    """A 4xx whose detail names the field at ``loc`` (e.g. ``["query", "cursor"]``); ``type`` is ``code``."""
    return field_problem(loc, code, status_code, **params)


def field_error_from(
    loc: list[Any],
    exc: BaseException,
    fallback: str,
    status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT,
) -> Problem:
    """A field problem worded by a lower layer's exception (its message unchanged): the exception's own
    registry code (see :func:`waihu.service.problems.sentence`), else ``fallback`` with ``reason``."""
    code, params = explained(exc, fallback)
    return Problem(status_code, code, params, loc=loc, message=str(exc))


def not_found(code: str, **params: Param) -> Problem:
    """404 ``<what> not found`` (the sentence of ``code``)."""
    return Problem(status.HTTP_404_NOT_FOUND, code, params)


def conflict(code: str, **params: Param) -> Problem:
    """409 with the sentence of ``code``."""
    return Problem(status.HTTP_409_CONFLICT, code, params)


def conflict_from(exc: BaseException, fallback: str) -> Problem:
    """409 worded by a lower layer's exception (see :func:`field_error_from`)."""
    code, params = explained(exc, fallback)
    return Problem(status.HTTP_409_CONFLICT, code, params, message=str(exc))
