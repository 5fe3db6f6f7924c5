"""A load into an SQLite database file, with Python's own sqlite3 module: no extra to install.

SQLite has no nested types: objects and lists are JSON text (SQLite's JSON
functions query it: `"provider" ->> '$.name'`, `json_each("topics")`),
date-times ISO 8601 text in UTC, booleans 0 or 1. A row is compared with its
earlier self column by column with `IS`, so NULLs compare equal.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from converters.layout import Field
from converters.load import LoadError, target_path
from converters.load.evolution import Column
from converters.load.json_values import json_text
from converters.load.sql_target import STAGED, SqlTarget, in_batches
from converters.load.staged import staged_batches
from converters.tables.sql import DIALECTS
from converters.timestamps import rfc3339


class SqliteTarget(SqlTarget):
    errors = (sqlite3.Error,)
    changes_types = False  # SQLite cannot change a column's type in place
    dialect = DIALECTS["sqlite"]

    def _database_exists(self) -> bool:
        return os.path.exists(target_path(self.target))

    def _open(self) -> None:
        try:
            # Transactions by hand (isolation_level=None): the module's own would commit before DDL.
            self.connection = sqlite3.connect(target_path(self.target), isolation_level=None)
            self.connection.execute("PRAGMA busy_timeout = 30000")  # another load's commit: wait for it
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise LoadError(f"cannot open SQLite database {target_path(self.target)}: {error}") from error

    def _commit(self) -> None:
        self.connection.execute("COMMIT")

    def _close(self) -> None:
        self.connection.close()

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self.connection.execute(sql, parameters)

    def _fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, parameters).fetchall()

    def _batches(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[Sequence[tuple[Any, ...]]]:
        yield from in_batches(self.connection.execute(sql, parameters), self.ledger_batch)

    def _described(self, table: str, temporary: bool) -> list[Column] | None:
        catalog = "temp" if temporary else "main"
        rows = self._fetch(f"SELECT name, type FROM pragma_table_info(?, '{catalog}') ORDER BY cid", [table])
        return [Column(column, kind) for column, kind in rows] or None

    def _ledger_ddl(self) -> list[str]:
        # A load reads the ledger's version (its count and latest stamp) twice: from this index, not from
        # every entry (about a tenth of a second each at 100,000 entries).
        index = self.dialect.identifier(f"{self.ledger_table}_loaded_at")
        loaded_at = f'CREATE INDEX IF NOT EXISTS {index} ON {self.ledger} ("table_name", "loaded_at")'
        return [*super()._ledger_ddl(), loaded_at]

    def _timestamp(self, moment: datetime) -> Any:
        return rfc3339(moment)

    def _stage_rows(self, staged: Path | None) -> None:
        listed = ", ".join(self.columns)
        self._execute(f"CREATE TEMPORARY TABLE {STAGED} AS SELECT {listed} FROM {self.name} LIMIT 0")
        if staged is None:
            return
        insert = f"INSERT INTO {STAGED} ({listed}) VALUES ({', '.join('?' * len(self.columns))})"
        self.connection.executemany(insert, _rows(staged, self.layout))
        # Looked up by webUrl once per webUrl forgotten: without an index, each would scan every row read.
        self._execute(f"CREATE UNIQUE INDEX temp.{STAGED}_key ON {STAGED} ({self.key})")

    def _stage_values(self, name: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
        listed = ", ".join(f"{self.dialect.identifier(column)} {kind}" for column, kind in columns.items())
        key = self.dialect.identifier(next(iter(columns)))  # indexed: looked up once per row of the table
        self._execute(f"CREATE TEMPORARY TABLE {name} ({listed}, PRIMARY KEY ({key}))")
        self.connection.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})", rows)

    def _differs(self, a: str, b: str) -> str:
        return " OR ".join(f"{a}.{column} IS NOT {b}.{column}" for column in self.columns)  # no IS DISTINCT FROM

    def _upsert(self, columns: list[str]) -> tuple[int, int]:
        key, name = self.key, self.name
        differs = self._differs("s", "t")
        updated = self._count(f"SELECT count(*) FROM {STAGED} s JOIN {name} t ON s.{key} = t.{key} WHERE {differs}")
        inserted = self._count(f"SELECT count(*) FROM {STAGED} WHERE {key} NOT IN (SELECT {key} FROM {name})")
        listed = ", ".join(columns)
        assignments = ", ".join(f"{column} = excluded.{column}" for column in columns)
        # `WHERE true`: without it, SQLite would read ON CONFLICT as part of the SELECT's join.
        self._execute(
            f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {STAGED} WHERE true "
            f"ON CONFLICT ({key}) DO UPDATE SET {assignments} WHERE {self._differs(name, 'excluded')}"
        )
        return inserted, updated


def _rows(staged: Path, layout: Field) -> Iterator[tuple[Any, ...]]:
    """The staged rows as SQLite values, a column of a batch at a time: memory stays flat."""
    columns = [(child.name, _convert.get(child.kind)) for child in layout.children]
    for batch in staged_batches(staged):
        values = [batch.column(name).to_pylist() for name, _ in columns]
        converted = [
            [convert(value) if value is not None else None for value in column] if convert else column
            for column, (_, convert) in zip(values, columns, strict=True)
        ]
        yield from zip(*converted, strict=True)


# layout kind -> its SQLite value; the other kinds are as Arrow gives them (a bool is an int to sqlite3)
_convert: dict[str, Callable[[Any], Any]] = {"object": json_text, "array": json_text, "datetime": rfc3339}
