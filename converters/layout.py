"""JSON Schema -> a tree of typed fields, the one layout every output is derived from.

Nothing here is written by hand per field: the Arrow schema, the CSV columns,
the JSON key order and the docs all walk this tree, so a property added to the
schema appears everywhere with no code change.
"""

from __future__ import annotations

import functools
import operator
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


def required_fields(schema: dict[str, Any]) -> frozenset[str]:
    """The top-level properties every record must have."""
    required = _resolve(schema, schema).get("required", [])
    return frozenset(name for name in required if isinstance(name, str)) if isinstance(required, list) else frozenset()


def record_layout(schema: dict[str, Any]) -> Field:
    """article_layout(), but a schema that leaves the record untyped (`{"type": "object"}`, or no
    `type`) gives an object with no properties: its records can still be exported as JSON."""
    node = _resolve(schema, schema)
    if "properties" not in node and node.get("type", "object") in ("object", ["object"]):
        return Field("", "object", str(node.get("title", "")), str(node.get("description", "")))
    return article_layout(schema)


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
        nested = tuple((child.name, order) for child in field.children if (order := _orderer(child)) is not None)
        return _ObjectOrder(tuple(child.name for child in field.children), nested)
    if field.kind == "array" and field.items is not None:
        items = _orderer(field.items)
        return None if items is None else functools.partial(_order_items, items)
    return None


class _ObjectOrder:
    """Puts an object's keys in schema order, and those of the objects inside it.

    What an object needs is worked out once per distinct tuple of keys and
    cached: a corpus has few, since its files are written by the same few
    programs. An object already in order, with nothing inside it to reorder,
    is returned as it is; an object that needs a change is copied, never
    changed.
    """

    MAX_KEY_TUPLES = 256  # a cap, for inputs whose objects carry keys of their own making

    __slots__ = ("names", "nested", "plans")

    def __init__(self, names: tuple[str, ...], nested: tuple[tuple[str, Callable[[Any], Any]], ...]) -> None:
        self.names = names
        self.nested = nested
        self.plans: dict[tuple[str, ...], _Plan] = {}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        plan = self.plans.get(keys := tuple(value))
        if plan is None:
            plan = self._plan(keys)
            if len(self.plans) < self.MAX_KEY_TUPLES:
                self.plans[keys] = plan
        order, nested = plan
        ordered = {key: value[key] for key in order} if order else value
        for name, reorder in nested:
            child = ordered[name]
            if (changed := reorder(child)) is not child:
                if ordered is value:
                    ordered = dict(value)
                ordered[name] = changed
        return ordered

    def _plan(self, keys: tuple[str, ...]) -> _Plan:
        """The keys in schema order, then those the schema does not list (() when they already are
        in order); and the orderers of the nested fields present."""
        present, listed = set(keys), set(self.names)
        order = tuple(name for name in self.names if name in present) + tuple(k for k in keys if k not in listed)
        nested = tuple((name, reorder) for name, reorder in self.nested if name in present)
        return () if order == keys else order, nested


# What _ObjectOrder does with an object of given keys: the order to copy them in, and the
# nested fields to visit.
_Plan = tuple[tuple[str, ...], tuple[tuple[str, Callable[[Any], Any]], ...]]


def _order_items(order: Callable[[Any], Any], value: Any) -> Any:
    if not isinstance(value, list):
        return value
    ordered = [order(item) for item in value]
    return value if all(map(operator.is_, ordered, value)) else ordered
