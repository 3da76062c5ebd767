"""JSON schemas for request bodies that endpoints read by hand (``openapi_extra``), without dangling refs.

Pydantic puts nested models under ``$defs`` and points at them with ``#/$defs/Name``; inside an OpenAPI
document ``#`` is the document, not the schema, so such a ``$ref`` resolves to nothing. Inlining the
(non-recursive) definitions gives a schema that stands on its own.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_PREFIX = "#/$defs/"


def _resolve(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_PREFIX):
            name = ref[len(_PREFIX) :]
            if name in seen:
                raise ValueError(f"recursive schema {name} cannot be inlined")
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return _resolve(defs[name], defs, (*seen, name)) | _resolve(rest, defs, seen)
        return {k: _resolve(v, defs, seen) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_resolve(item, defs, seen) for item in node]
    return node


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with every ``$defs`` entry inlined where it is referenced."""
    schema = model.model_json_schema()
    return _resolve(schema, schema.get("$defs", {}), ())
