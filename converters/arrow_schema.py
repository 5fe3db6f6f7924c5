"""Layout -> pyarrow schema, and records -> values Arrow takes, by the same walk.

string -> string; date-time -> timestamp("us", tz="UTC"); integer -> int64;
number -> float64; boolean -> bool; object -> struct; array -> list; a value
the schema leaves untyped -> its JSON text. Every field is nullable: `required`
is enforced by validation, not by the file, so that every export, whatever
optional fields its input has, gets this one schema.
"""

from __future__ import annotations

import json
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


def arrow_value(value: Any, field: Field) -> Any:
    """A record's value shaped for `pa.Table.from_pylist` with `arrow_type(field)`."""
    if value is None:
        return None
    kind = field.kind
    if kind == "object":
        if not isinstance(value, dict):
            return None
        return {child.name: arrow_value(value.get(child.name), child) for child in field.children}
    if kind == "array":
        assert field.items is not None
        return [arrow_value(item, field.items) for item in value] if isinstance(value, list) else None
    if kind == "datetime":
        return parse_timestamp(value)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def arrow_row(record: dict[str, Any], layout: Field) -> dict[str, Any]:
    row: dict[str, Any] = arrow_value(record, layout)
    return row
