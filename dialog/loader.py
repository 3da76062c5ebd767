"""Load a flow YAML file into a validated :class:`~dialog.schema.Flow`, with positioned problems.

The only module of ``dialog`` that reads files; the engine itself never does I/O.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dialog import schema
from dialog.problems import FlowError, FlowProblem
from dialog.semantics import check_semantics
from dialog.yaml_positions import Path as YamlPath
from dialog.yaml_positions import PositionedDocument, YamlSyntaxError, parse_yaml


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

    def problem(self, data_path: YamlPath, message: str, severity: str = "error") -> FlowProblem:
        file, doc, path = self.path, self.doc, tuple(data_path)
        if self.kb_file and path[:1] == ("knowledge_base",) and len(path) > 1:
            file, doc, prefix = self.kb_file
            path = (*prefix, *path[1:])
        position = doc.position(path)
        return FlowProblem(str(file), position.line, position.col, message, severity)  # type: ignore[arg-type]


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
    for error in exc.errors():
        loc = tuple(error["loc"])
        if kb_is_list and "KnowledgeBaseRef" in loc:
            continue
        path = _data_path(data, loc)
        where = _describe_location(path)
        kind = error["type"]
        if kind == "missing":
            message = f"{_describe_location(path[:-1])}: missing required field '{path[-1]}'"
        elif kind == "extra_forbidden":
            name = str(path[-1])
            close = difflib.get_close_matches(name, _FIELD_NAMES, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = f"{_describe_location(path[:-1])}: unknown field '{name}'{hint}"
        else:
            text = error["msg"].removeprefix("Value error, ")
            message = f"{where}: {text}"
        if (path, message) in seen:
            continue
        seen.add((path, message))
        problems.append(locator.problem(path, message))
    return problems


def _load_kb_reference(data: dict[str, Any], flow_path: Path, locator: _Locator) -> list[FlowProblem]:
    """Replace ``knowledge_base: {file: ...}`` by the entries of that file, in place."""
    ref = data.get("knowledge_base")
    if not isinstance(ref, dict):
        return []
    if set(ref) != {"file"} or not isinstance(ref.get("file"), str):
        return [
            locator.problem(("knowledge_base",), "knowledge_base: give a list of entries or {file: PATH}")
        ]
    kb_path = (flow_path.parent / ref["file"]).resolve()
    if not kb_path.is_file():
        return [locator.problem(("knowledge_base", "file"), f"knowledge base file not found: {ref['file']}")]
    try:
        kb_doc = parse_yaml(kb_path.read_text(encoding="utf-8"))
    except YamlSyntaxError as exc:
        return [FlowProblem(str(kb_path), exc.position.line, exc.position.col, exc.message)]
    entries, prefix = kb_doc.data, ()
    if isinstance(entries, dict) and "entries" in entries:
        entries, prefix = entries["entries"], ("entries",)
    if not isinstance(entries, list):
        return [FlowProblem(str(kb_path), 1, 1, "knowledge base file must hold a list of entries")]
    data["knowledge_base"] = entries
    locator.kb_file = (kb_path, kb_doc, prefix)
    return []


def load_flow_text(text: str, path: Path | str = "<flow>") -> LoadedFlow:
    """Parse and validate flow YAML text; never raises on bad input, returns problems instead."""
    path = Path(path)
    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        return LoadedFlow(
            path, None, [FlowProblem(str(path), exc.position.line, exc.position.col, exc.message)]
        )
    locator = _Locator(path, doc)
    # Duplicate keys point at the duplicate itself, not at the first occurrence.
    problems = [
        FlowProblem(
            str(path), pos.line, pos.col, f"duplicate key '{dup_path[-1]}' (the later one wins in YAML)"
        )
        for dup_path, pos in doc.duplicate_keys
    ]
    data = doc.data
    if not isinstance(data, dict):
        problems.append(
            FlowProblem(str(path), 1, 1, "a flow file must be a YAML mapping (flow:, nodes:, ...)")
        )
        return LoadedFlow(path, None, problems)
    problems += _load_kb_reference(data, path, locator)
    try:
        flow = schema.Flow.model_validate(data)
    except ValidationError as exc:
        return LoadedFlow(path, None, problems + _pydantic_problems(exc, data, locator))
    for data_path, message, severity in check_semantics(flow, base_dir=path.parent):
        problems.append(locator.problem(data_path, message, severity))
    problems.sort(key=lambda p: (p.file, p.line, p.col))
    return LoadedFlow(path, flow, problems)


def load_flow_file(path: Path | str) -> LoadedFlow:
    """Read and validate a flow file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadedFlow(path, None, [FlowProblem(str(path), 1, 1, f"cannot read flow file: {exc}")])
    return load_flow_text(text, path)


def load_flow(path: Path | str) -> schema.Flow:
    """Load a flow that must be valid; raise :class:`FlowError` listing every error otherwise."""
    loaded = load_flow_file(path)
    if loaded.flow is None or loaded.errors:
        raise FlowError(loaded.errors)
    return loaded.flow
