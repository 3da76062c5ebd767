"""Bounds on what a request body may cost: bytes on the wire (chunked too) and JSON nesting depth.

``Content-Length`` is a claim, not a bound: a chunked body has none. :class:`BodySizeLimit` counts the
bytes as they arrive and stops the request at the limit with 413; :func:`read_body` does the same for
an endpoint with a smaller limit of its own. :func:`loads_json` parses JSON with a depth limit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import Request, status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waihu.privacy import mask_phones_in
from waihu.service.api.errors import field_error
from waihu.service.problems import Problem

log = logging.getLogger(__name__)

#: Nesting depth of JSON bodies the service parses itself (contacts: list → object → variables).
MAX_JSON_DEPTH = 32


def too_large(max_bytes: int) -> Problem:
    """413 naming the body."""
    return field_error(["body"], "body_too_large", status.HTTP_413_CONTENT_TOO_LARGE, max_bytes=max_bytes)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``max_bytes``, declared or streamed, with 413.

    A declared ``Content-Length`` over the limit is answered before anything is read. Otherwise the
    bytes are counted as the app reads them; crossing the limit raises a 413 ``HTTPException`` inside
    the app's read, so the endpoint stops parsing and the exception handler answers.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            path = mask_phones_in(str(scope.get("path", "")))
            log.info("refused %s %s: Content-Length %d", scope.get("method"), path, declared)
            error = too_large(self.max_bytes)
            await JSONResponse(error.body(), error.status_code)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    path = mask_phones_in(str(scope.get("path", "")))
                    log.info("refused %s %s: body over %d bytes", scope.get("method"), path, self.max_bytes)
                    raise too_large(self.max_bytes)
            return message

        await self.app(scope, limited, send)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, read as a stream and refused with 413 as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def with_body(request: Request, body: bytes) -> Request:
    """A request reading ``body`` (already read and checked) instead of the network, e.g. for forms."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return Request(request.scope, receive)


class JsonDepthError(ValueError):
    """JSON nested deeper than allowed (``max_depth`` levels)."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0, ``[]`` is 1), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
            deepest = max(deepest, depth + 1)
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
            deepest = max(deepest, depth + 1)
    return deepest


def loads_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` refusing documents nested deeper than ``max_depth`` (:class:`JsonDepthError`).

    Raises ``ValueError`` (``json.JSONDecodeError``, ``UnicodeDecodeError``) for malformed JSON.
    """
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise JsonDepthError(max_depth) from exc
    if json_depth(value) > max_depth:
        raise JsonDepthError(max_depth)
    return value
