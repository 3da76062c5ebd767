"""Add an example to a flow's YAML text without rewriting the file.

The operator's inbox turns an utterance into a new example of an intent (``intents.<name>.examples``)
or a new question of a KB entry (``knowledge_base[id=…].questions``). Flows are stored as the text the
operator wrote, comments and layout included, so the new item is inserted as text where the list ends,
in the list's own style (``[a, b]`` or ``- a`` lines); nothing else in the file changes.
"""

from __future__ import annotations

import json

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class ExampleEditError(ValueError):
    """The YAML has no place for the example (no such intent or KB entry, or a layout not handled)."""


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when it reads back the same in both list styles, else quoted."""
    plain_ok = text == text.strip() and "\n" not in text
    if plain_ok:
        try:
            plain_ok = yaml.safe_load(f"[{text}]") == [text] and yaml.safe_load(f"- {text}") == [text]
        except yaml.YAMLError:
            plain_ok = False
    return text if plain_ok else json.dumps(text, ensure_ascii=False)  # JSON strings are YAML too


def _value(mapping: Node, key: str) -> Node | None:
    if not isinstance(mapping, MappingNode):
        return None
    for key_node, value in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return value
    return None


def _kb_entry(root: Node, entry_id: str) -> Node | None:
    entries = _value(root, "knowledge_base")
    if not isinstance(entries, SequenceNode):
        return None
    for entry in entries.value:
        id_node = _value(entry, "id")
        if isinstance(id_node, ScalarNode) and id_node.value == entry_id:
            return entry
    return None


def _insert(text: str, owner: Node, list_key: str, item: str) -> str:
    """``text`` with ``item`` appended to the list ``list_key`` of the mapping ``owner``."""
    if not isinstance(owner, MappingNode):
        raise ExampleEditError("the intent or entry is not a mapping")
    seq = _value(owner, list_key)
    if seq is None:
        if owner.flow_style:  # {keywords: [...]}: open with the new key
            at = owner.start_mark.index + 1
            return f"{text[:at]}{list_key}: [{item}], {text[at:]}"
        first_key = owner.value[0][0]
        line_start = text.rfind("\n", 0, first_key.start_mark.index) + 1
        indent = " " * first_key.start_mark.column
        return f"{text[:line_start]}{indent}{list_key}: [{item}]\n{text[line_start:]}"
    if not isinstance(seq, SequenceNode):
        raise ExampleEditError(f"{list_key} is not a list")
    if seq.flow_style and not seq.value:
        close = seq.end_mark.index - 1
        if text[close] != "]":
            raise ExampleEditError(f"{list_key}: unexpected empty list layout")
        return f"{text[:close]}{item}{text[close:]}"
    if seq.flow_style:
        at = seq.value[-1].end_mark.index
        return f"{text[:at]}, {item}{text[at:]}"
    last = seq.value[-1]
    line_start = text.rfind("\n", 0, last.start_mark.index) + 1
    prefix = text[line_start : last.start_mark.index]
    if prefix.strip() != "-":
        raise ExampleEditError(f"{list_key}: list item layout not handled ({prefix!r})")
    line_end = text.find("\n", last.end_mark.index)
    if line_end < 0:
        return f"{text}\n{prefix}{item}\n"
    return f"{text[: line_end + 1]}{prefix}{item}\n{text[line_end + 1 :]}"


def add_intent_example(flow_text: str, intent: str, example: str) -> str:
    """``flow_text`` with ``example`` added to ``intents.<intent>.examples``."""
    root = yaml.compose(flow_text, Loader=yaml.SafeLoader)
    owner = _value(root, "intents") if root is not None else None
    definition = _value(owner, intent) if owner is not None else None
    if definition is None:
        raise ExampleEditError(f"the flow has no intent {intent!r}")
    return _insert(flow_text, definition, "examples", _scalar(example))


def add_kb_question(flow_text: str, entry_id: str, question: str) -> str:
    """``flow_text`` with ``question`` added to the questions of the KB entry ``entry_id``."""
    root = yaml.compose(flow_text, Loader=yaml.SafeLoader)
    entry = _kb_entry(root, entry_id) if root is not None else None
    if entry is None:
        raise ExampleEditError(f"the flow's knowledge base has no entry {entry_id!r}")
    return _insert(flow_text, entry, "questions", _scalar(question))
