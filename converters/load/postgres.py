"""Load a staged Parquet file into PostgreSQL: COPY into a temporary table, then one upsert.

Objects and lists of objects go into `jsonb` columns (converters.tables.sql
says why); their timestamps become RFC 3339 text in UTC, as the Parquet file
has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
from psycopg.types.json import Jsonb

from converters.layout import KEY_FIELD, Field
from converters.load import Counts, LoadError, check_columns
from converters.tables.sql import DIALECTS, create_table, qualified_name

DIALECT = DIALECTS["postgres"]
COPY_BATCH_ROWS = 5_000


def load_parquet(target: str, staged: Path, table: str, layout: Field) -> Counts:
    try:
        connection = psycopg.connect(target, autocommit=False)
    except psycopg.Error as error:
        raise LoadError(f"cannot connect to PostgreSQL: {error}".strip()) from error
    try:
        with connection.transaction():
            return _upsert(connection, staged, table, layout)
    except psycopg.Error as error:
        raise LoadError(f"cannot load into {table}: {error}; the table is unchanged".strip()) from error
    finally:
        connection.close()


def _upsert(connection: psycopg.Connection[Any], staged: Path, table: str, layout: Field) -> Counts:
    name, key = qualified_name(table, DIALECT), DIALECT.identifier(KEY_FIELD)
    columns = [DIALECT.identifier(f.name) for f in layout.children]
    column_list = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(create_table(layout, table, DIALECT).encode())
        check_columns(name, _columns(cursor, name), [f.name for f in layout.children])
        cursor.execute(f"CREATE TEMP TABLE staged (LIKE {name}) ON COMMIT DROP".encode())
        with cursor.copy(f"COPY staged ({column_list}) FROM STDIN".encode()) as copy:
            for row in _rows(staged, layout):
                copy.write_row(row)
        cursor.execute(b"SELECT count(*) FROM staged")
        staged_rows = _one(cursor)
        excluded = ", ".join(f"EXCLUDED.{c}" for c in columns)
        current = ", ".join(f"t.{c}" for c in columns)
        # xmax = 0 tells a fresh insert from an update; equal rows are skipped by the WHERE.
        cursor.execute(
            f"WITH upserted AS (INSERT INTO {name} AS t ({column_list}) SELECT {column_list} FROM staged "
            f"ON CONFLICT ({key}) DO UPDATE SET ({column_list}) = ROW({excluded}) "
            f"WHERE ({current}) IS DISTINCT FROM ({excluded}) RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted".encode()
        )
        result = cursor.fetchone()
        assert result is not None
        inserted, updated = int(result[0]), int(result[1])
    return Counts(inserted, updated, staged_rows - inserted - updated)


def _one(cursor: psycopg.Cursor[Any]) -> int:
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _rows(staged: Path, layout: Field) -> Iterator[list[Any]]:
    """The staged rows, batch by batch, as PostgreSQL values: memory stays flat."""
    nested = [f.name for f in layout.children if DIALECT.column_type(f) == "jsonb"]
    for batch in pq.ParquetFile(staged).iter_batches(batch_size=COPY_BATCH_ROWS):
        for record in batch.to_pylist():
            for name in nested:
                if record[name] is not None:
                    record[name] = Jsonb(record[name], dumps=_dumps)
            yield list(record.values())


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_utc_text)


def _utc_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _columns(cursor: psycopg.Cursor[Any], name: str) -> list[str]:
    cursor.execute(f"SELECT * FROM {name} LIMIT 0".encode())
    return [column.name for column in cursor.description or []]
