"""Which intents compete at a node: its answer-table row, the global row and the knowledge base."""

from __future__ import annotations

from collections.abc import Iterable

from dialog.schema import BUILTIN_INTENTS, FAQ_PREFIX, Flow


class Candidates(list[str]):
    """The intents allowed at a node (a plain list to every caller), knowing which of them the
    node's own answer-table row handles: the classifier gives those a prior over the global row
    and the FAQs, as a person on the call would (at 请说确认, 确认 is an answer, not a question)."""

    def __init__(self, names: Iterable[str], row: Iterable[str] = ()) -> None:
        super().__init__(names)
        self.row = frozenset(row) & frozenset(self)


def candidates(flow: Flow, node_id: str | None = None) -> Candidates:
    """Intents the NLU may return at ``node_id`` (every intent of the flow when None)."""
    names: list[str] = []
    row: list[str] = []
    if node_id is None:
        names += list(flow.intents)
    else:
        node = flow.nodes[node_id]
        row = [name for name in node.answers if name not in BUILTIN_INTENTS]
        names += row
    names += [name for name in flow.global_answers if name not in BUILTIN_INTENTS]
    names += [FAQ_PREFIX + entry.id for entry in flow.kb_entries]
    allowed = dict.fromkeys(name for name in names if name.startswith(FAQ_PREFIX) or name in flow.intents)
    return Candidates(allowed, row)
