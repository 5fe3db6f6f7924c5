"""JSON Schema -> a tree of typed fields, the one layout every output is derived from.

Nothing here is written by hand per field: the Arrow schema, the CSV columns,
the JSON key order and the docs all walk this tree, so a property added to the
schema appears everywhere with no code change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["string", "datetime", "integer", "number", "boolean", "object", "array", "json"]

# The field that identifies an article: unique across a corpus (validate checks it), and
# the key a load upserts by.
KEY_FIELD = "webUrl"

_SIMPLE_KINDS: dict[str, Kind] = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


@dataclass(frozen=True, slots=True)
class Field:
    """One property. `json` is any value the schema does not pin to one type; it is kept as JSON text."""

    name: str
    kind: Kind
    title: str = ""
    description: str = ""
    children: tuple[Field, ...] = ()  # for objects, in schema order
    items: Field | None = None  # for arrays

    def child(self, name: str) -> Field | None:
        return next((f for f in self.children if f.name == name), None)


class LayoutError(ValueError):
    """A schema construct that cannot be given a layout."""


def article_layout(schema: dict[str, Any]) -> Field:
    """The root object field of an article schema."""
    root = _field("", schema, schema, depth=0)
    if root.kind != "object":
        raise LayoutError("the schema's top level must be an object with properties")
    return root


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref`, keeping the referring node's own keywords (title, description)."""
    reference = node.get("$ref")
    if reference is None:
        return node
    if not isinstance(reference, str) or not reference.startswith("#/"):
        raise LayoutError(f"only local references are supported, not {reference!r}")
    target: Any = schema
    for part in reference[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return {**_resolve(target, schema), **{k: v for k, v in node.items() if k != "$ref"}}


def _field(name: str, node: dict[str, Any], schema: dict[str, Any], depth: int) -> Field:
    if depth > 32:
        raise LayoutError("the schema nests deeper than 32 levels (a recursive $ref?)")
    node = _resolve(node, schema)
    title, description = str(node.get("title", "")), str(node.get("description", ""))
    kind = _kind(node)
    if kind == "object":
        children = tuple(
            _field(child, child_node, schema, depth + 1) for child, child_node in node.get("properties", {}).items()
        )
        return Field(name, "object", title, description, children=children)
    if kind == "array":
        items = node.get("items")
        item = _field("item", items, schema, depth + 1) if isinstance(items, dict) else Field("item", "json")
        return Field(name, "array", title, description, items=item)
    return Field(name, kind, title, description)


def _kind(node: dict[str, Any]) -> Kind:
    declared = node.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    types = [t for t in types if t != "null"]  # every column is nullable anyway
    if len(types) != 1:
        return "json"
    (kind,) = types
    if kind == "string" and node.get("format") == "date-time":
        return "datetime"
    if kind == "object":
        return "object" if "properties" in node else "json"
    if kind == "array":
        return "array"
    return _SIMPLE_KINDS.get(kind, "json")


def schema_order(field: Field) -> Callable[[Any], Any]:
    """A function giving a value of this field with every object in it in schema order.

    Keys the schema does not list (when it allows them) follow in their
    original order. Built once per field, since it runs on every record:
    it visits only the parts of a value where objects can be.
    """
    return _orderer(field) or _unchanged


def _unchanged(value: Any) -> Any:
    return value


def _orderer(field: Field) -> Callable[[Any], Any] | None:
    if field.kind == "object":
        names = tuple(child.name for child in field.children)
        nested = tuple((child.name, order) for child in field.children if (order := _orderer(child)) is not None)
        return functools.partial(_order_object, names, nested)
    if field.kind == "array" and field.items is not None:
        items = _orderer(field.items)
        return None if items is None else functools.partial(_order_items, items)
    return None


def _order_object(names: tuple[str, ...], nested: tuple[tuple[str, Callable[[Any], Any]], ...], value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ordered = {name: value[name] for name in names if name in value}
    if len(ordered) < len(value):
        ordered.update((key, item) for key, item in value.items() if key not in ordered)
    for name, order in nested:
        if name in ordered:
            ordered[name] = order(ordered[name])
    return ordered


def _order_items(order: Callable[[Any], Any], value: Any) -> Any:
    return [order(item) for item in value] if isinstance(value, list) else value
