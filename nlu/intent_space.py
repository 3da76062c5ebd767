"""Which intents compete at a node: its answer-table row, the global row and the knowledge base."""

from __future__ import annotations

from dialog.schema import BUILTIN_INTENTS, FAQ_PREFIX, Flow


def candidates(flow: Flow, node_id: str | None = None) -> list[str]:
    """Intents the NLU may return at ``node_id`` (every intent of the flow when None)."""
    names: list[str] = []
    if node_id is None:
        names += list(flow.intents)
    else:
        node = flow.nodes[node_id]
        names += [name for name in node.answers if name not in BUILTIN_INTENTS]
    names += [name for name in flow.global_answers if name not in BUILTIN_INTENTS]
    names += [FAQ_PREFIX + entry.id for entry in flow.kb_entries]
    return list(dict.fromkeys(name for name in names if name.startswith(FAQ_PREFIX) or name in flow.intents))
