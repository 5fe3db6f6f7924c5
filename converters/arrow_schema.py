"""Layout -> pyarrow schema, and records -> values Arrow takes, by the same walk.

string -> string; date-time -> timestamp("us", tz="UTC"); integer -> int64;
number -> float64; boolean -> bool; object -> struct; array -> list; a value
the schema leaves untyped -> its JSON text. Every field is nullable: `required`
is enforced by validation, not by the file, so that every export, whatever
optional fields its input has, gets this one schema.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from converters.layout import Field

SCHEMA_ID_KEY = b"articles.schema.id"
SCHEMA_VERSION_KEY = b"articles.schema.version"

_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "json": pa.string(),
}


def arrow_type(field: Field) -> pa.DataType:
    if field.kind == "object":
        return pa.struct([arrow_field(child) for child in field.children])
    if field.kind == "array":
        assert field.items is not None
        return pa.list_(pa.field("element", arrow_type(field.items), nullable=True))
    return _SCALARS[field.kind]


def arrow_field(field: Field) -> pa.Field:
    metadata = {b"description": field.description.encode()} if field.description else None
    return pa.field(field.name, arrow_type(field), nullable=True, metadata=metadata)


def arrow_schema(layout: Field, schema_id: str = "", version: str = "") -> pa.Schema:
    """The Arrow schema for articles; the JSON Schema's $id and version ride along as metadata."""
    metadata = {SCHEMA_ID_KEY: schema_id.encode(), SCHEMA_VERSION_KEY: version.encode()}
    return pa.schema([arrow_field(child) for child in layout.children], metadata=metadata)


def parse_timestamp(text: str) -> datetime:
    """RFC 3339 -> an aware UTC datetime, to the microsecond (further digits are dropped).

    An offset such as +05:00 becomes the same instant in UTC. A leap second
    (:60) becomes the first instant of the next minute, as POSIX time has it.
    """
    text = text.upper()
    leap = text[17:19] == "60"
    if leap:
        text = text[:17] + "59" + text[19:]
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    moment = moment.astimezone(UTC)
    return moment + timedelta(seconds=1) if leap else moment


Convert = Callable[[Any], Any]


def row_converter(layout: Field) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function from a valid record to a row `pa.RecordBatch.from_pylist` takes with `arrow_schema(layout)`.

    Arrow reads most values as they are: an absent key is null, and a key the
    schema does not name is ignored. Only timestamps (text -> datetime) and
    untyped values (-> JSON text) need converting, so the function built here
    visits only the parts of a record that lead to one. It never changes the
    record itself: what it converts, it copies.
    """
    convert = _converter(layout)
    if convert is None:
        return _as_it_is
    row_of: Callable[[dict[str, Any]], dict[str, Any]] = convert
    return row_of


def _as_it_is(record: dict[str, Any]) -> dict[str, Any]:
    return record


def _converter(field: Field) -> Convert | None:
    """How to convert a value of this field, or None when Arrow takes it as it is."""
    if field.kind == "datetime":
        return parse_timestamp
    if field.kind == "json":
        return _json_text
    if field.kind == "array":
        assert field.items is not None
        item = _converter(field.items)
        return None if item is None else functools.partial(_convert_items, item)
    if field.kind == "object":
        children = tuple((child.name, c) for child in field.children if (c := _converter(child)) is not None)
        return functools.partial(_convert_children, children) if children else None
    return None


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _convert_items(convert: Convert, values: list[Any]) -> list[Any]:
    return [None if value is None else convert(value) for value in values]


def _convert_children(children: tuple[tuple[str, Convert], ...], value: dict[str, Any]) -> dict[str, Any]:
    converted = dict(value)
    for name, convert in children:
        child = value.get(name)
        if child is not None:
            converted[name] = convert(child)
    return converted
