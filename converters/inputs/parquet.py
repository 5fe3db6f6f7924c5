"""Parquet (.parquet, .pq): one row per article, the reverse of `--to parquet`.

Rows are read a batch at a time, so memory is bounded by a row group, not the
file. Each row becomes the document the JSON Schema describes: timestamps
become RFC 3339 text in UTC (`2023-08-02T06:44:00Z`), columns the schema
leaves untyped (stored as JSON text) are parsed back, and a null becomes an
absent key, because Parquet cannot tell the two apart. The record's "line" is
its 1-based row number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from converters.inputs import Record
from converters.layout import Field
from converters.limits import Limits
from converters.partitions import partition_values
from converters.timestamps import rfc3339

_BATCH_ROWS = 1024


class _BadValue(ValueError):
    pass


def read_records(path: str, layout: Field, limits: Limits) -> Iterator[Record]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, ValueError) as error:
        yield Record(path, 1, b"", problem=("parquet", f"not a readable Parquet file: {error}"))
        return
    unreadable = _unreadable_column(parquet.schema_arrow)
    if unreadable is not None:
        yield Record(path, 1, b"", problem=("parquet", unreadable))
        return
    try:
        from_path = partition_values(path, layout, parquet.schema_arrow.names)
    except ValueError as error:
        yield Record(path, 1, b"", problem=("parquet", str(error)))
        return
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            for values in batch.to_pylist():
                row += 1
                try:
                    yield Record(path, row, b"", record=_document(values, layout) | from_path)
                except _BadValue as error:
                    yield Record(path, row, b"", problem=("parquet", str(error)))
    except (pa.ArrowException, ValueError, OSError) as error:
        yield Record(path, row + 1, b"", problem=("parquet", f"cannot read row {row + 1:,} on: {error}"))
    finally:
        parquet.close()


def _unreadable_column(schema: pa.Schema) -> str | None:
    """A message naming the first column whose Arrow type has no JSON value, if there is one."""
    for field in schema:
        if not _readable(field.type):
            return f"column {field.name!r} has Arrow type {field.type}, which has no JSON value"
    return None


def _readable(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return all(_readable(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _readable(kind.value_type)
    if pa.types.is_dictionary(kind):
        return _readable(kind.value_type)
    return any(
        check(kind)
        for check in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_integer,
            pa.types.is_floating,
            pa.types.is_boolean,
            pa.types.is_timestamp,
            pa.types.is_date,
            pa.types.is_time,
            pa.types.is_null,
        )
    )


def _document(row: dict[str, Any], layout: Field) -> dict[str, Any]:
    document: dict[str, Any] = _value(row, layout)
    return document


def _value(value: Any, field: Field | None) -> Any:
    if isinstance(value, dict):
        return {
            key: _value(item, field.child(key) if field is not None else None)
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list):
        items = field.items if field is not None else None
        return [None if item is None else _value(item, items) for item in value]
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise _BadValue(f"{value} is not a JSON number")
    if isinstance(value, str) and field is not None and field.kind == "json":
        try:
            return json.loads(value)
        except ValueError:
            return value  # a plain string in a column another tool wrote
    return value
