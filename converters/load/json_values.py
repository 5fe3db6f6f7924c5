"""Staged rows as Python values, for the targets that take them so: PostgreSQL's jsonb, SQLite's TEXT."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq


def json_text(value: Any) -> str:
    """Compact JSON in schema order, timestamps as RFC 3339 text in UTC (`Z`): the same value always gives
    the same text, so that a row compared with its earlier self is equal. orjson: a tenth of json's time,
    which is most of staging 100,000 rows. A naive timestamp is one of staged_batches', in UTC."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC).decode()


def staged_batches(staged: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    """The staged Parquet file a batch at a time (memory stays flat), each UTC timestamp in it, nested ones
    too, made naive: pyarrow makes a datetime with a time zone through pandas, whose import alone took
    0.2 s of a nightly load. Whoever writes the values out puts the UTC back."""
    source = pq.ParquetFile(staged)
    naive = pa.schema([column.with_type(_naive(column.type)) for column in source.schema_arrow])
    for batch in source.iter_batches(batch_size=batch_size):
        yield batch.cast(naive)


def _naive(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return pa.timestamp(kind.unit)
    if pa.types.is_struct(kind):
        return pa.struct([kind.field(i).with_type(_naive(kind.field(i).type)) for i in range(kind.num_fields)])
    if pa.types.is_list(kind):
        return pa.list_(kind.value_field.with_type(_naive(kind.value_type)))
    return kind
