"""A load into a DuckDB database file: the staged Parquet file is read by DuckDB itself, types and all."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from converters.load import LoadError
from converters.load.evolution import Column
from converters.load.sql_target import CHANGED, STAGED, SqlTarget
from converters.tables.sql import DIALECTS, table_parts

_ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64()}


class DuckDbTarget(SqlTarget):
    errors = (duckdb.Error,)
    dialect = DIALECTS["duckdb"]

    def _database_exists(self) -> bool:
        return os.path.exists(self.target)

    def _open(self) -> None:
        try:
            self.connection = duckdb.connect(self.target)
        except duckdb.Error as error:
            raise LoadError(f"cannot open DuckDB database {self.target}: {error}") from error
        self.connection.begin()

    def _commit(self) -> None:
        self.connection.commit()

    def _close(self) -> None:
        self.connection.close()

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self.connection.execute(sql, list(parameters))

    def _fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(parameters)).fetchall()

    def _described(self, table: str, temporary: bool) -> list[Column] | None:
        # information_schema, not DESCRIBE: in a transaction, DESCRIBE of a missing table aborts it.
        parts = table_parts(table, self.dialect)
        schema, name = (parts[0], parts[1]) if len(parts) == 2 else ("main", parts[0])
        rows = self._fetch(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = "
            f"{'?' if temporary else 'current_database()'} AND table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            ["temp", schema, name] if temporary else [schema, name],
        )
        return [Column(column, kind) for column, kind in rows] or None

    def _stage_rows(self, staged: Path | None) -> None:
        # A view, not a table: DuckDB streams the Parquet file each time the load reads it, where a
        # temporary table of 100,000 articles held a gigabyte.
        columns = ", ".join(self.columns)
        if staged is None:
            source = f"{self.name} LIMIT 0"
        else:
            source = "read_parquet('{}')".format(os.fspath(staged).replace("'", "''"))  # a view takes no parameters
        self._execute(f"CREATE TEMPORARY VIEW {STAGED} AS SELECT {columns} FROM {source}")

    def _stage_values(self, name: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
        # Through Arrow: DuckDB takes a table of 100,000 rows at once, where executemany takes seconds.
        schema = pa.schema([(column, _ARROW_TYPES[kind]) for column, kind in columns.items()])
        values = pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows], schema=schema)
        self.connection.register("articles_values", values)
        try:
            self._execute(f"CREATE TEMPORARY TABLE {name} AS SELECT * FROM articles_values")
        finally:
            self.connection.unregister("articles_values")

    def _upsert(self, columns: list[str]) -> tuple[int, int]:
        key, name = self.key, self.name
        listed = ", ".join(columns)
        self._execute(
            f"CREATE TEMPORARY TABLE {CHANGED} AS SELECT s.{key} FROM {STAGED} s JOIN {name} t ON s.{key} = t.{key} "
            f"WHERE {self._differs('s', 't')}"
        )
        updated = self._count(f"SELECT count(*) FROM {CHANGED}")
        inserted = self._count(f"SELECT count(*) FROM {STAGED} WHERE {key} NOT IN (SELECT {key} FROM {name})")
        self._execute(f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM {CHANGED})")
        self._execute(
            f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {STAGED} WHERE {key} NOT IN (SELECT {key} FROM {name})"
        )
        return inserted, updated
