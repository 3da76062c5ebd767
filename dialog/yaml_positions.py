"""Parse YAML while remembering where every key and value came from.

Operators need errors that point at a line and column, so the flow loader keeps a map from the
path of each value (``("nodes", "greeting", "answers", "affirm")``) to its position in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from dialog.problem_codes import ParamValue, render_problem
from dialog.yaml_limits import (
    DEFAULT_LIMITS,
    BoundedComposerMixin,
    YamlLimitError,
    YamlLimits,
    check_expansion,
    check_size,
)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """1-based line and column of a YAML element."""

    line: int
    col: int


@dataclass
class PositionedDocument:
    """Parsed YAML data plus positions of keys and values."""

    data: Any
    key_positions: dict[Path, Position] = field(default_factory=dict)
    value_positions: dict[Path, Position] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, Position]] = field(default_factory=list)

    def position(self, path: Path, *, prefer_key: bool = True) -> Position:
        """Best position for ``path``: the element itself, else its nearest ancestor."""
        probe = tuple(path)
        while True:
            first, second = (
                (self.key_positions, self.value_positions)
                if prefer_key
                else (self.value_positions, self.key_positions)
            )
            if probe in first:
                return first[probe]
            if probe in second:
                return second[probe]
            if not probe:
                return Position(1, 1)
            probe = probe[:-1]


class FlowYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false are booleans.

    In YAML 1.1 ``yes``, ``no``, ``on`` and ``off`` are booleans, which silently turns the English
    examples "yes" and "no" into True and False.
    """


FlowYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
FlowYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _PythonBoundedLoader(BoundedComposerMixin, FlowYamlLoader):
    """:class:`FlowYamlLoader` that enforces :class:`~dialog.yaml_limits.YamlLimits` while composing."""


_FastBoundedLoader: type | None = None
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastBoundedLoader(  # type: ignore[no-redef]
        BoundedComposerMixin, Composer, CParser, SafeConstructor, Resolver
    ):
        """libyaml's event parser (C, fast, no recursion) under PyYAML's composer with the budget.

        The composer, constructor and resolver are the Python ones of :class:`FlowYamlLoader`, so the
        data (YAML 1.2 booleans) is the same; only scanning and parsing run in C.
        """

        yaml_implicit_resolvers = FlowYamlLoader.yaml_implicit_resolvers

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def _load_with(loader_class: type, text: str, limits: YamlLimits) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    loader.start_budget(limits)
    try:
        root = loader.get_single_node()
        check_expansion(root, limits)
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def _compose_and_construct(text: str, limits: YamlLimits) -> tuple[yaml.Node | None, Any]:
    """The checked node graph of ``text`` and the data constructed from it.

    Parsed with libyaml when PyYAML has it (several times faster on large documents). A syntax error
    found there is parsed again with the pure-Python parser, whose messages and positions flow
    authors already know; both parsers run under the same limits.
    """
    check_size(text, limits)
    if _FastBoundedLoader is None:
        return _load_with(_PythonBoundedLoader, text, limits)
    try:
        return _load_with(_FastBoundedLoader, text, limits)
    except YamlLimitError:
        raise
    except yaml.YAMLError as fast_error:
        _load_with(_PythonBoundedLoader, text, limits)  # raises the familiar error
        raise fast_error from None  # only libyaml refuses it


def load_yaml(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """Parse YAML with :class:`FlowYamlLoader` (YAML 1.2 booleans) within ``limits``.

    Raises ``yaml.YAMLError``; :class:`~dialog.yaml_limits.YamlLimitError` (a ``MarkedYAMLError``)
    when the document is too large, too deep, or has too many or recursive aliases.
    """
    return _compose_and_construct(text, limits)[1]


class YamlSyntaxError(ValueError):
    """A YAML document that cannot be parsed, with its position.

    ``code`` (``yaml_syntax_error``, ``yaml_refused``, ``yaml_error``) and ``reason`` (PyYAML's own English,
    or the bound crossed) name it in :mod:`dialog.problem_codes`; ``message`` is the English wording.
    """

    def __init__(self, code: str, reason: str, position: Position) -> None:
        self.code = code
        self.params: dict[str, ParamValue] = {"reason": reason}
        self.message = render_problem(code, self.params)
        super().__init__(self.message)
        self.position = position


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, path: Path, doc: PositionedDocument) -> None:
    doc.value_positions.setdefault(path, _mark(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                doc.duplicate_keys.append((child, _mark(key_node)))
                continue
            seen.add(key)
            doc.key_positions[child] = _mark(key_node)
            _walk(value_node, child, doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.key_positions[child] = _mark(item)
            _walk(item, child, doc)


def parse_yaml(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> PositionedDocument:
    """Parse one YAML document; raise :class:`YamlSyntaxError` with a position on bad syntax.

    Documents beyond ``limits`` (size, depth, aliases) are refused the same way, with the position
    where the limit was crossed.
    """
    try:
        root, data = _compose_and_construct(text, limits)
    except YamlLimitError as exc:
        mark = exc.problem_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        raise YamlSyntaxError("yaml_refused", str(exc.problem), position) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "nesting depth" in str(exc.problem):  # libyaml's own bound (1000 levels) met while scanning
            position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
            reason = f"nested deeper than {limits.max_depth} levels"
            raise YamlSyntaxError("yaml_refused", reason, position) from exc
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise YamlSyntaxError("yaml_syntax_error", message, position) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError("yaml_error", str(exc), Position(1, 1)) from exc
    doc = PositionedDocument(data=data)
    if root is not None:
        _walk(root, (), doc)
    return doc
