"""Load a flow YAML file into a validated :class:`~dialog.schema.Flow`, with positioned problems.

The only module of ``dialog`` that reads files; the engine itself never does I/O.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dialog import schema
from dialog.flow_files import FileAccess, FileReferenceError, audio_references, bundle_name
from dialog.problem_codes import PROBLEM_CODES, ParamValue, render_problem
from dialog.problems import FlowError, FlowProblem
from dialog.semantics import check_semantics
from dialog.yaml_limits import DEFAULT_LIMITS, YamlLimits
from dialog.yaml_positions import Path as YamlPath
from dialog.yaml_positions import PositionedDocument, YamlSyntaxError, parse_yaml

log = logging.getLogger(__name__)

#: Schema errors turned into positioned problems; the rest are summarised (bounded validation work).
MAX_SCHEMA_PROBLEMS = 200


@dataclass
class LoadedFlow:
    """A flow plus where it came from; ``flow`` is None when the file could not be validated."""

    path: Path
    flow: schema.Flow | None
    problems: list[FlowProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[FlowProblem]:
        """Problems that make the flow unusable."""
        return [problem for problem in self.problems if problem.severity == "error"]


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for model in vars(schema).values():
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, info in model.model_fields.items():
                names.add(info.alias or name)
    return names | {"goto"}


_FIELD_NAMES = _all_field_names()


class _Locator:
    """Maps data paths to positions, following the KB into its own file when it has one."""

    def __init__(self, path: Path, doc: PositionedDocument) -> None:
        self.path = path
        self.doc = doc
        self.kb_file: tuple[Path, PositionedDocument, YamlPath] | None = None

    def problem(
        self,
        data_path: YamlPath,
        code: str,
        params: Mapping[str, ParamValue] | None = None,
        severity: str = "error",
    ) -> FlowProblem:
        file, doc, path = self.path, self.doc, tuple(data_path)
        if self.kb_file and path[:1] == ("knowledge_base",) and len(path) > 1:
            file, doc, prefix = self.kb_file
            path = (*prefix, *path[1:])
        position = doc.position(path)
        return FlowProblem.of(str(file), position.line, position.col, code, params, severity)  # type: ignore[arg-type]


def _describe_location(loc: YamlPath) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _data_path(data: Any, loc: tuple[Any, ...]) -> YamlPath:
    """Drop pydantic's union-branch markers from ``loc`` by following the real data."""
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
            path.append(part)
        elif index == len(loc) - 1:
            path.append(part)
        # otherwise: a union branch name such as 'list[KBEntry]'; skip it
    return tuple(path)


def _pydantic_problems(exc: ValidationError, data: Any, locator: _Locator) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    seen: set[tuple[YamlPath, str]] = set()
    kb_is_list = isinstance(data, dict) and isinstance(data.get("knowledge_base"), list)
    errors = exc.errors()
    for error in errors[:MAX_SCHEMA_PROBLEMS]:
        loc = tuple(error["loc"])
        if kb_is_list and "KnowledgeBaseRef" in loc:
            continue
        path = _data_path(data, loc)
        code, params = _schema_code(error, path)
        message = render_problem(code, params)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        problems.append(locator.problem(path, code, params))
    if len(errors) > MAX_SCHEMA_PROBLEMS:
        more = {"count": len(errors) - MAX_SCHEMA_PROBLEMS}
        problems.append(locator.problem((), "schema.more_errors", more))
    return problems


def _param(value: Any) -> ParamValue:
    """A ``ctx`` value as a problem param; ``0.0`` becomes ``0``, as pydantic writes it in its message."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, str | int | float) else str(value)


def _schema_code(error: Any, path: YamlPath) -> tuple[str, dict[str, ParamValue]]:
    """The code ``schema.<pydantic type>`` and params (the error's ``ctx`` plus ``field``) of one error.

    A type the registry does not word, or whose wording differs from pydantic's own (a plural, a new
    pydantic version), becomes ``schema.error`` with pydantic's English as ``reason``.
    """
    where = _describe_location(path)
    kind = error["type"]
    if kind == "missing":
        return "schema.missing", {
            "field": where,
            "parent": _describe_location(path[:-1]),
            "name": str(path[-1]),
        }
    if kind == "extra_forbidden":
        name = str(path[-1])
        params: dict[str, ParamValue] = {
            "field": where,
            "parent": _describe_location(path[:-1]),
            "name": name,
        }
        close = difflib.get_close_matches(name, _FIELD_NAMES, n=1)
        if close:
            return "schema.extra_forbidden_suggest", {**params, "suggestion": close[0]}
        return "schema.extra_forbidden", params
    text = error["msg"].removeprefix("Value error, ")
    code = f"schema.{kind}"
    params = {name: _param(value) for name, value in (error.get("ctx") or {}).items()}
    params["field"] = where
    if code in PROBLEM_CODES:
        try:
            if render_problem(code, params) == f"{where}: {text}":
                return code, params
        except (KeyError, IndexError, ValueError):
            pass
    return "schema.error", {"field": where, "reason": text}


def _load_kb_reference(
    data: dict[str, Any], flow_path: Path, locator: _Locator, files: FileAccess, limits: YamlLimits
) -> list[FlowProblem]:
    """Replace ``knowledge_base: {file: ...}`` by the entries of that file, in place."""
    ref = data.get("knowledge_base")
    if not isinstance(ref, dict):
        return []
    if set(ref) != {"file"} or not isinstance(ref.get("file"), str):
        return [locator.problem(("knowledge_base",), "kb_reference_invalid")]
    try:
        kb_path = files.resolve(ref["file"], flow_path.parent)
    except FileReferenceError as exc:
        params = {**exc.params, "field": "knowledge_base.file"}
        return [locator.problem(("knowledge_base", "file"), exc.code, params)]
    if not kb_path.is_file():
        return [locator.problem(("knowledge_base", "file"), "kb_file_not_found", {"file": ref["file"]})]
    try:
        kb_doc = parse_yaml(kb_path.read_text(encoding="utf-8"), limits)
    except YamlSyntaxError as exc:
        return [FlowProblem.of(str(kb_path), exc.position.line, exc.position.col, exc.code, exc.params)]
    except (OSError, UnicodeDecodeError) as exc:
        return [locator.problem(("knowledge_base", "file"), "kb_file_unreadable", {"reason": str(exc)})]
    entries = kb_doc.data
    prefix: tuple[str, ...] = ()
    if isinstance(entries, dict) and "entries" in entries:
        entries, prefix = entries["entries"], ("entries",)
    if not isinstance(entries, list):
        return [FlowProblem.of(str(kb_path), 1, 1, "kb_file_not_a_list")]
    data["knowledge_base"] = entries
    locator.kb_file = (kb_path, kb_doc, prefix)
    return []


def _audio_problems(
    flow: schema.Flow, flow_path: Path, locator: _Locator, files: FileAccess
) -> list[FlowProblem]:
    """Recorded-audio references the policy refuses, or (for local flows) that do not exist."""
    problems = []
    for data_path, wav in audio_references(flow):
        where = ".".join(str(part) for part in data_path)
        if files.named_audio:  # a bundle: names of the recordings uploaded with the flow, not paths
            try:
                name = bundle_name(wav)
            except FileReferenceError as exc:
                problems.append(locator.problem(data_path, exc.code, {**exc.params, "field": where}))
                continue
            if files.bundle is not None and name not in files.bundle:
                carried = ", ".join(sorted(files.bundle)[:10]) or "none"
                params = {"field": where, "name": repr(wav), "carried": carried}
                problems.append(locator.problem(data_path, "audio_not_in_bundle", params))
            continue
        try:
            path = files.resolve(wav, flow_path.parent)
        except FileReferenceError as exc:
            problems.append(locator.problem(data_path, exc.code, {**exc.params, "field": where}))
            continue
        if not path.is_file():
            problems.append(locator.problem(data_path, "audio_file_not_found", {"file": wav}))
    return problems


def _too_slow(path: Path, started: float, limits: YamlLimits) -> LoadedFlow | None:
    if time.monotonic() - started <= limits.max_seconds:
        return None
    log.warning("flow %s: validation exceeded %.1f s", path.name, limits.max_seconds)
    params = {"seconds": f"{limits.max_seconds:g}"}
    return LoadedFlow(path, None, [FlowProblem.of(str(path), 1, 1, "validation_too_slow", params)])


def load_flow_text(
    text: str,
    path: Path | str = "<flow>",
    *,
    files: FileAccess | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
) -> LoadedFlow:
    """Parse and validate flow YAML text; never raises on bad input, returns problems instead.

    ``files`` says which files the flow may reference (default: files in ``path``'s directory, see
    :meth:`FileAccess.local`); pass :data:`dialog.flow_files.NO_FILES` for flows from the network.
    ``limits`` bounds the YAML (size, depth, aliases) and the time spent validating.
    """
    started = time.monotonic()
    path = Path(path)
    files = files if files is not None else FileAccess.local()
    try:
        doc = parse_yaml(text, limits)
    except YamlSyntaxError as exc:
        return LoadedFlow(
            path, None, [FlowProblem.of(str(path), exc.position.line, exc.position.col, exc.code, exc.params)]
        )
    locator = _Locator(path, doc)
    # Duplicate keys point at the duplicate itself, not at the first occurrence.
    problems = [
        FlowProblem.of(str(path), pos.line, pos.col, "duplicate_key", {"key": str(dup_path[-1])})
        for dup_path, pos in doc.duplicate_keys
    ]
    data = doc.data
    if not isinstance(data, dict):
        problems.append(FlowProblem.of(str(path), 1, 1, "not_a_mapping"))
        return LoadedFlow(path, None, problems)
    problems += _load_kb_reference(data, path, locator, files, limits)
    try:
        flow = schema.Flow.model_validate(data)
    except ValidationError as exc:
        return _too_slow(path, started, limits) or LoadedFlow(
            path, None, problems + _pydantic_problems(exc, data, locator)
        )
    for data_path, code, params, severity in check_semantics(flow):
        problems.append(locator.problem(data_path, code, params, severity))
    problems += _audio_problems(flow, path, locator, files)
    too_slow = _too_slow(path, started, limits)
    if too_slow is not None:
        return too_slow
    problems.sort(key=lambda p: (p.file, p.line, p.col))
    return LoadedFlow(path, flow, problems)


def load_flow_file(path: Path | str, *, files: FileAccess | None = None) -> LoadedFlow:
    """Read and validate a flow file (files it references: see :func:`load_flow_text`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = FlowProblem.of(str(path), 1, 1, "unreadable_file", {"reason": str(exc)})
        return LoadedFlow(path, None, [problem])
    return load_flow_text(text, path, files=files)


def load_flow(path: Path | str, *, files: FileAccess | None = None) -> schema.Flow:
    """Load a flow that must be valid; raise :class:`FlowError` listing every error otherwise."""
    loaded = load_flow_file(path, files=files)
    if loaded.flow is None or loaded.errors:
        raise FlowError(loaded.errors)
    return loaded.flow
