"""Load a staged Parquet file into a DuckDB database file, in one transaction."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from converters.layout import KEY_FIELD, Field
from converters.load import Counts, LoadError, check_columns
from converters.tables.sql import DIALECTS, create_table, qualified_name

DIALECT = DIALECTS["duckdb"]


def load_parquet(target: str, staged: Path, table: str, layout: Field) -> Counts:
    try:
        connection = duckdb.connect(target)
    except duckdb.Error as error:
        raise LoadError(f"cannot open DuckDB database {target}: {error}") from error
    try:
        return _upsert(connection, staged, table, layout)
    except duckdb.Error as error:
        raise LoadError(f"cannot load into {target}: {error}; the table is unchanged") from error
    finally:
        connection.close()


def _upsert(connection: duckdb.DuckDBPyConnection, staged: Path, table: str, layout: Field) -> Counts:
    name, key = qualified_name(table, DIALECT), DIALECT.identifier(KEY_FIELD)
    connection.begin()
    try:
        connection.execute(create_table(layout, table, DIALECT))
        check_columns(table, connection.table(table).columns, [f.name for f in layout.children])
        connection.execute("CREATE TEMP TABLE staged AS SELECT * FROM read_parquet(?)", [os.fspath(staged)])
        staged_rows = _count(connection, "SELECT count(*) FROM staged")
        # A row compared whole (`s IS DISTINCT FROM t`): the two tables have the same columns.
        connection.execute(
            f"CREATE TEMP TABLE changed AS SELECT s.{key} FROM staged s JOIN {name} t USING ({key}) "
            "WHERE s IS DISTINCT FROM t"
        )
        updated = _count(connection, "SELECT count(*) FROM changed")
        inserted = _count(connection, f"SELECT count(*) FROM staged ANTI JOIN {name} USING ({key})")
        connection.execute(f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM changed)")
        connection.execute(f"INSERT INTO {name} SELECT * FROM staged WHERE {key} NOT IN (SELECT {key} FROM {name})")
        connection.execute("DROP TABLE staged")
        connection.execute("DROP TABLE changed")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return Counts(inserted, updated, staged_rows - inserted - updated)


def _count(connection: duckdb.DuckDBPyConnection, query: str) -> int:
    row = connection.execute(query).fetchone()
    assert row is not None
    return int(row[0])
