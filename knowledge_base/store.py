"""The FAQ store: knowledge-base entries of a flow (inline or from their own YAML file)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dialog.schema import FAQ_PREFIX, Flow, KBEntry


@dataclass(frozen=True)
class KBHit:
    """A retrieved entry with its similarity score."""

    entry_id: str
    answer: str
    score: float

    @property
    def intent(self) -> str:
        """The intent the engine sees for this entry."""
        return FAQ_PREFIX + self.entry_id


class KnowledgeBase:
    """Entries by id, in the order the operator wrote them."""

    def __init__(self, entries: list[KBEntry]) -> None:
        self._entries = {entry.id: entry for entry in entries}

    @classmethod
    def from_flow(cls, flow: Flow) -> KnowledgeBase:
        """The flow's knowledge base (a ``{file: ...}`` reference is resolved by the loader)."""
        return cls(flow.kb_entries)

    def __iter__(self) -> Iterator[KBEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> KBEntry | None:
        """The entry with this id, if any."""
        return self._entries.get(entry_id)

    def examples(self) -> dict[str, list[str]]:
        """Texts that stand for each entry: its questions and keywords."""
        return {entry.id: [*entry.questions, *entry.keywords] for entry in self}
