"""Parse YAML while remembering where every key and value came from.

Operators need errors that point at a line and column, so the flow loader keeps a map from the
path of each value (``("nodes", "greeting", "answers", "affirm")``) to its position in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

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


def load_yaml(text: str) -> Any:
    """Parse YAML with :class:`FlowYamlLoader` (YAML 1.2 booleans)."""
    return yaml.load(text, Loader=FlowYamlLoader)


class YamlSyntaxError(ValueError):
    """A YAML document that cannot be parsed, with its position."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
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


def parse_yaml(text: str) -> PositionedDocument:
    """Parse one YAML document; raise :class:`YamlSyntaxError` with a position on bad syntax."""
    try:
        root = yaml.compose(text, Loader=FlowYamlLoader)
        data = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise YamlSyntaxError(f"YAML syntax error: {message}", position) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML error: {exc}", Position(1, 1)) from exc
    doc = PositionedDocument(data=data)
    if root is not None:
        _walk(root, (), doc)
    return doc
