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
from typing import Any

import pyarrow as pa

from converters.layout import Field
from converters.timestamps import parse_timestamp

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


Convert = Callable[[Any], Any]


def row_converter(layout: Field, timestamps: bool = True) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function from a valid record to a row that `record_batch()` takes with `arrow_schema(layout)`.

    Arrow reads most values as they are: an absent key is null, and a key the
    schema does not name is ignored. Only timestamps (text -> datetime) and
    untyped values (-> JSON text) need converting, so the function built here
    visits only the parts of a record that lead to one. It never changes the
    record itself: what it converts, it copies. With `timestamps=False`,
    timestamps stay text, for `text_timestamps()` and `cast_timestamps()`.
    """
    convert = _converter(layout, timestamps)
    if convert is None:
        return _as_it_is
    row_of: Callable[[dict[str, Any]], dict[str, Any]] = convert
    return row_of


def record_batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Rows -> a batch of `schema`, as `pa.RecordBatch.from_pylist` makes it, about a quarter faster.

    Arrow reads the dicts as one struct array, in C++, where from_pylist
    first gathers every column in Python.
    """
    rows_as_structs = pa.array(rows, type=pa.struct(list(schema)))
    return pa.RecordBatch.from_arrays(rows_as_structs.flatten(), schema=schema)


def text_timestamps(schema: pa.Schema) -> pa.Schema:
    """The schema with every timestamp a string: rows with their timestamps as text read into it."""
    return pa.schema([field.with_type(_text_type(field.type)) for field in schema], metadata=schema.metadata)


def _text_type(arrow: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(arrow):
        return pa.string()
    if pa.types.is_struct(arrow):
        return pa.struct([arrow.field(i).with_type(_text_type(arrow.field(i).type)) for i in range(arrow.num_fields)])
    if pa.types.is_list(arrow):
        return pa.list_(arrow.value_field.with_type(_text_type(arrow.value_type)))
    return arrow


def cast_timestamps(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A batch read with `text_timestamps(schema)` -> the same batch in `schema`, by Arrow's ISO 8601 parser.

    Cheaper than datetimes made in Python (row_converter), which Arrow then
    reads one by one, and the same instants: the date-times here passed the
    RFC 3339 format check, whose every form Arrow reads as Python does, or
    refuses. It raises
    pa.ArrowInvalid for a form it refuses (a lowercase t or z, more than six
    decimals), and the caller then converts the batch in Python;
    tests/test_parquet.py compares the two on generated date-times.
    """
    columns = [_cast_column(column, field.type) for column, field in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _cast_column(column: pa.Array, arrow: pa.DataType) -> pa.Array:
    if column.type == arrow:
        return column
    if pa.types.is_timestamp(arrow):
        return column.cast(arrow)
    # A list or struct holding a timestamp: rebuilt around its cast children (Arrow's own cast of
    # a nested type copies every child, timestamps or not).
    mask = column.is_null() if column.null_count else None
    if pa.types.is_list(arrow):
        values = _cast_column(column.values, arrow.value_type)
        return pa.ListArray.from_arrays(column.offsets, values, type=arrow, mask=mask)
    children = [_cast_column(column.field(i), arrow.field(i).type) for i in range(arrow.num_fields)]
    return pa.StructArray.from_arrays(children, fields=list(arrow), mask=mask)


def _as_it_is(record: dict[str, Any]) -> dict[str, Any]:
    return record


def _converter(field: Field, timestamps: bool) -> Convert | None:
    """How to convert a value of this field, or None when Arrow takes it as it is."""
    if field.kind == "datetime":
        return parse_timestamp if timestamps else None
    if field.kind == "json":
        return _json_text
    if field.kind == "array":
        assert field.items is not None
        item = _converter(field.items, timestamps)
        return None if item is None else functools.partial(_convert_items, item)
    if field.kind == "object":
        children = tuple(
            (child.name, c) for child in field.children if (c := _converter(child, timestamps)) is not None
        )
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
