"""The error answers of the API, declared once so the OpenAPI document lists what really comes back.

Every error is ``{"detail": ...}`` where ``detail`` is a sentence, a list of ``{loc, msg, type}`` naming
the fields (FastAPI's validation shape, used by every 4xx about input), or ``{message, problems}`` for a
flow whose YAML has errors. A sentence the server words itself also carries ``code`` (stable, snake_case:
the registry :mod:`waihu.service.problems`) and ``params`` (the sentence's values), so a client can word
it in its own language; field items of such problems have the code as ``type`` and the params as
``ctx``. Routers pass ``responses=errors(401, 403, ...)`` for the codes their routes
can return.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from waihu.service.api.schemas import inline_schema


class FieldProblem(BaseModel):
    """One problem with one input field: where (``["body", "phone"]``), what and which kind."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="Where: body/query/path/header, then the field's path.")
    msg: str
    type: str


class FlowProblems(BaseModel):
    """A flow (or flow test) that does not validate: ``FILE:LINE:COL: message`` lines."""

    model_config = ConfigDict(extra="allow")

    message: str
    problems: list[str]


class ErrorBody(BaseModel):
    """An error: a sentence, the fields in error, or a flow's problems."""

    detail: str | list[FieldProblem] | FlowProblems
    code: str | None = Field(
        default=None,
        description="Stable code of the problem (waihu/service/problems.py) when the server wrote it.",
        examples=["campaign_not_found"],
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description='The values in the sentence of `code`, e.g. {"campaign": 42}.',
    )


DESCRIPTIONS: dict[int, str] = {
    400: "Malformed body: JSON nested deeper than the parser allows, or an unreadable multipart form.",
    401: "Missing, malformed, unknown or revoked API key.",
    403: "The key's role may not do this.",
    404: "Not found. Another tenant's resource answers 404 too.",
    409: "Conflicts with the resource's current state or with existing data.",
    413: "Body larger than allowed.",
    415: "Unsupported Content-Type.",
    422: "Invalid input; `detail` names the field.",
}


def errors(*codes: int, inline: bool = False) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the error ``codes``, all with the :class:`ErrorBody` schema.

    ``inline``: for a route whose own answers are not JSON (``/metrics``): FastAPI would file the model
    under the route's media type, so the JSON schema is given inline instead.
    """
    if inline:
        content = {"application/json": {"schema": inline_schema(ErrorBody)}}
        return {code: {"description": DESCRIPTIONS[code], "content": content} for code in codes}
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


#: What every authenticated route can answer.
AUTH = (401, 403)
#: What a route with a JSON body can answer besides its own codes.
JSON_BODY = (400, 413, 422)


def existing(what: str, model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The 200 of an idempotent create: ``what`` existed already (the sentence says what became of it),
    answered as ``model`` (the create's own answer model)."""
    return {200: {"model": model, "description": what}}
