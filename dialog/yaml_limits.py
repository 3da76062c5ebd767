"""Bounds on untrusted YAML: size, nesting depth, aliases and their expansion, parse time.

PyYAML's safe loader still expands aliases lazily and recurses once per nesting level, so a 1 kB
"billion laughs" document, a self-referencing alias (``&a [*a]``) or ten thousand ``[`` can exhaust
memory or the stack of whoever walks the result. :func:`compose_bounded` composes the node graph with
a depth and time budget, then checks the graph as if every alias were expanded, before anything is
constructed from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import AliasEvent

#: Defaults for flow files and flow-test files.
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 32
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 200_000
MAX_YAML_SECONDS = 5.0


@dataclass(frozen=True)
class YamlLimits:
    """What one YAML document may cost.

    ``max_nodes`` counts the nodes of the document with every alias expanded (what a consumer that
    walks the data sees); ``max_depth`` is the nesting depth after expansion too.
    """

    max_bytes: int = MAX_YAML_BYTES
    max_depth: int = MAX_YAML_DEPTH
    max_aliases: int = MAX_YAML_ALIASES
    max_nodes: int = MAX_YAML_NODES
    max_seconds: float = MAX_YAML_SECONDS


DEFAULT_LIMITS = YamlLimits()


class YamlLimitError(yaml.MarkedYAMLError):
    """The document exceeds a :class:`YamlLimits` bound; ``problem_mark`` says where."""


def _error(message: str, node_or_mark: Any = None) -> YamlLimitError:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return YamlLimitError(problem=message, problem_mark=mark)


def check_size(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`YamlLimitError` when ``text`` is larger than ``limits.max_bytes`` (UTF-8)."""
    if len(text) > limits.max_bytes or len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise _error(f"document larger than {limits.max_bytes} bytes")


class BoundedComposerMixin:
    """Composer hooks counting depth, aliases and time while the node graph is built."""

    limits: YamlLimits = DEFAULT_LIMITS
    _depth = 0
    _aliases = 0
    _composed = 0
    _deadline = 0.0

    def start_budget(self, limits: YamlLimits) -> None:
        """Reset the counters for one document."""
        self.limits = limits
        self._depth = self._aliases = self._composed = 0
        self._deadline = time.monotonic() + limits.max_seconds

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node within the budget (PyYAML recurses here once per nesting level)."""
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > self.limits.max_aliases:
                raise _error(f"more than {self.limits.max_aliases} aliases (*name)", event)
        self._composed += 1
        if self._composed % 1000 == 0 and time.monotonic() > self._deadline:
            raise _error(f"parsing took longer than {self.limits.max_seconds:g} s", event)
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                raise _error(f"nested deeper than {self.limits.max_depth} levels", event)
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: yaml.Node | None, limits: YamlLimits = DEFAULT_LIMITS) -> None:
    """Refuse recursive aliases and graphs whose alias expansion is too deep or too large.

    Iterative depth-first walk over the composed graph with memoised subtree sizes and heights, so
    the check itself costs time linear in the number of distinct nodes.
    """
    if root is None or isinstance(root, yaml.ScalarNode):
        return
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total, tallest = 1, 0
            for child in _children(node):
                if isinstance(child, yaml.ScalarNode):
                    total, tallest = total + 1, max(tallest, 1)
                else:
                    total, tallest = total + size[id(child)], max(tallest, height[id(child)])
            size[key], height[key] = total, tallest + 1
            if total > limits.max_nodes:
                raise _error(f"alias expansion exceeds {limits.max_nodes} nodes (a YAML alias bomb?)", node)
            continue
        if key in height:
            if depth + height[key] - 1 > limits.max_depth:
                raise _error(f"nested deeper than {limits.max_depth} levels (through an alias)", node)
            continue
        if depth + 1 > limits.max_depth:
            raise _error(f"nested deeper than {limits.max_depth} levels (through an alias)", node)
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if isinstance(child, yaml.ScalarNode):
                continue
            if id(child) in on_path:
                raise _error("recursive alias: a node contains an alias to itself", child)
            stack.append((child, depth + 1, False))
