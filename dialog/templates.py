"""Prompt templates: ``{name}`` placeholders filled from call variables."""

from __future__ import annotations

import string
from collections.abc import Mapping

_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that cannot be parsed (unbalanced braces, positional fields...)."""


def placeholders(template: str) -> list[str]:
    """Variable names used in ``template``; raise :class:`TemplateError` if malformed."""
    names: list[str] = []
    try:
        for _literal, field_name, _spec, _conv in _FORMATTER.parse(template):
            if field_name is None:
                continue
            if not field_name.isidentifier():
                raise TemplateError(f"placeholder {{{field_name}}} must be a variable name")
            names.append(field_name)
    except ValueError as exc:
        if isinstance(exc, TemplateError):
            raise
        raise TemplateError(
            f"malformed template {template!r}: {exc} (write {{{{ for a literal brace)"
        ) from exc
    return names


def render(template: str, variables: Mapping[str, str]) -> str:
    """Fill placeholders; an unknown name is left visible rather than crashing a live call."""
    parts: list[str] = []
    for literal, field_name, _spec, _conv in _FORMATTER.parse(template):
        parts.append(literal)
        if field_name is not None:
            parts.append(str(variables.get(field_name, "{" + field_name + "}")))
    return "".join(parts)
