"""Prompt templates: ``{name}`` placeholders filled from call variables."""

from __future__ import annotations

import string
from collections.abc import Mapping

from dialog.problem_codes import ParamValue, render_problem

_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that cannot be parsed (unbalanced braces, positional fields...).

    ``code`` and ``params`` name the problem in :mod:`dialog.problem_codes`; ``str()`` is its English.
    """

    def __init__(self, code: str, params: Mapping[str, ParamValue]) -> None:
        self.code = code
        self.params = dict(params)
        super().__init__(render_problem(code, self.params))


def placeholders(template: str) -> list[str]:
    """Variable names used in ``template``; raise :class:`TemplateError` if malformed."""
    names: list[str] = []
    try:
        for _literal, field_name, _spec, _conv in _FORMATTER.parse(template):
            if field_name is None:
                continue
            if not field_name.isidentifier():
                raise TemplateError("placeholder_not_a_name", {"name": field_name})
            names.append(field_name)
    except ValueError as exc:
        if isinstance(exc, TemplateError):
            raise
        params = {"template": repr(template), "reason": str(exc)}
        raise TemplateError("template_malformed", params) from exc
    return names


def render(template: str, variables: Mapping[str, str]) -> str:
    """Fill placeholders; an unknown name is left visible rather than crashing a live call."""
    parts: list[str] = []
    for literal, field_name, _spec, _conv in _FORMATTER.parse(template):
        parts.append(literal)
        if field_name is not None:
            parts.append(str(variables.get(field_name, "{" + field_name + "}")))
    return "".join(parts)


def split_recorded(
    template: str, recordings: Mapping[str, str], variables: Mapping[str, str]
) -> list[tuple[str, str | None]]:
    """Cut a prompt into pieces: fixed fragments the operator recorded (with their WAV) and the rest,
    rendered, to be synthesised. Fragments are matched in the template, in order of appearance."""
    spans = sorted(
        (template.index(fragment), fragment) for fragment in recordings if fragment and fragment in template
    )
    pieces: list[tuple[str, str | None]] = []
    cursor = 0
    for start, fragment in spans:
        if start < cursor:
            continue  # overlapping fragments: the earlier one wins
        if start > cursor:
            pieces.append((render(template[cursor:start], variables), None))
        pieces.append((fragment, recordings[fragment]))
        cursor = start + len(fragment)
    if cursor < len(template):
        pieces.append((render(template[cursor:], variables), None))
    return [(text, audio) for text, audio in pieces if text]
