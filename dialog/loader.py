"""Load a flow YAML file into a validated :class:`~dialog.schema.Flow`, with positioned problems.

The only module of ``dialog`` that reads files; the engine itself never does I/O.
"""

from __future__ import annotations

import difflib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dialog import schema
from dialog.flow_files import FileAccess, FileReferenceError, audio_references, bundle_name
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
    errors = exc.errors()
    for error in errors[:MAX_SCHEMA_PROBLEMS]:
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
    if len(errors) > MAX_SCHEMA_PROBLEMS:
        problems.append(
            locator.problem((), f"{len(errors) - MAX_SCHEMA_PROBLEMS} more schema errors not shown")
        )
    return problems


def _load_kb_reference(
    data: dict[str, Any], flow_path: Path, locator: _Locator, files: FileAccess, limits: YamlLimits
) -> list[FlowProblem]:
    """Replace ``knowledge_base: {file: ...}`` by the entries of that file, in place."""
    ref = data.get("knowledge_base")
    if not isinstance(ref, dict):
        return []
    if set(ref) != {"file"} or not isinstance(ref.get("file"), str):
        return [
            locator.problem(("knowledge_base",), "knowledge_base: give a list of entries or {file: PATH}")
        ]
    try:
        kb_path = files.resolve(ref["file"], flow_path.parent)
    except FileReferenceError as exc:
        return [locator.problem(("knowledge_base", "file"), f"knowledge_base.file: {exc}")]
    if not kb_path.is_file():
        return [locator.problem(("knowledge_base", "file"), f"knowledge base file not found: {ref['file']}")]
    try:
        kb_doc = parse_yaml(kb_path.read_text(encoding="utf-8"), limits)
    except YamlSyntaxError as exc:
        return [FlowProblem(str(kb_path), exc.position.line, exc.position.col, exc.message)]
    except (OSError, UnicodeDecodeError) as exc:
        return [locator.problem(("knowledge_base", "file"), f"cannot read knowledge base file: {exc}")]
    entries = kb_doc.data
    prefix: tuple[str, ...] = ()
    if isinstance(entries, dict) and "entries" in entries:
        entries, prefix = entries["entries"], ("entries",)
    if not isinstance(entries, list):
        return [FlowProblem(str(kb_path), 1, 1, "knowledge base file must hold a list of entries")]
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
                problems.append(locator.problem(data_path, f"{where}: {exc}"))
                continue
            if files.bundle is not None and name not in files.bundle:
                carried = ", ".join(sorted(files.bundle)[:10]) or "none"
                message = f"{where}: {wav!r} is not in the bundle (it carries: {carried})"
                problems.append(locator.problem(data_path, message))
            continue
        try:
            path = files.resolve(wav, flow_path.parent)
        except FileReferenceError as exc:
            problems.append(locator.problem(data_path, f"{where}: {exc}"))
            continue
        if not path.is_file():
            problems.append(locator.problem(data_path, f"audio file not found: {wav}"))
    return problems


def _too_slow(path: Path, started: float, limits: YamlLimits) -> LoadedFlow | None:
    if time.monotonic() - started <= limits.max_seconds:
        return None
    log.warning("flow %s: validation exceeded %.1f s", path.name, limits.max_seconds)
    message = f"validation took longer than {limits.max_seconds:g} s: make the flow smaller"
    return LoadedFlow(path, None, [FlowProblem(str(path), 1, 1, message)])


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
    problems += _load_kb_reference(data, path, locator, files, limits)
    try:
        flow = schema.Flow.model_validate(data)
    except ValidationError as exc:
        return _too_slow(path, started, limits) or LoadedFlow(
            path, None, problems + _pydantic_problems(exc, data, locator)
        )
    for data_path, message, severity in check_semantics(flow):
        problems.append(locator.problem(data_path, message, severity))
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
        return LoadedFlow(path, None, [FlowProblem(str(path), 1, 1, f"cannot read flow file: {exc}")])
    return load_flow_text(text, path, files=files)


def load_flow(path: Path | str, *, files: FileAccess | None = None) -> schema.Flow:
    """Load a flow that must be valid; raise :class:`FlowError` listing every error otherwise."""
    loaded = load_flow_file(path, files=files)
    if loaded.flow is None or loaded.errors:
        raise FlowError(loaded.errors)
    return loaded.flow
