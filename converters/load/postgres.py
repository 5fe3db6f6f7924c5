"""A load into PostgreSQL: rows go into temporary tables with COPY, and the load is set-based SQL from there.

Objects and lists of objects go into `jsonb` columns (converters.tables.sql
says why); their timestamps become RFC 3339 text in UTC, as the Parquet file
has them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.types.json import Jsonb

from converters.layout import Field
from converters.load import LoadError
from converters.load.evolution import Column
from converters.load.json_values import json_text
from converters.load.ledger import LedgerComparison
from converters.load.sql_target import STAGED, SqlTarget, in_batches
from converters.load.staged import staged_batches
from converters.tables.sql import DIALECTS, qualified_name

# Loads into one database take turns at writing: two that create the ledger at once would otherwise
# collide in PostgreSQL's catalog (CREATE TABLE IF NOT EXISTS is not safe against a concurrent one).
_LOAD_LOCK = 0x61727469636C6573  # "articles"


class PostgresTarget(SqlTarget):
    errors = (psycopg.Error,)
    dialect = DIALECTS["postgres"]
    parameter = "%s"

    def _open(self) -> None:
        try:
            self.connection = psycopg.connect(self.target, autocommit=False)
        except psycopg.Error as error:
            password = urlsplit(self.target).password  # psycopg may quote the URL's part it could not parse
            message = str(error).replace(password, "***") if password else str(error)
            raise LoadError(f"cannot connect to PostgreSQL: {message}".strip()) from error
        self.cursor = self.connection.cursor()

    def _commit(self) -> None:
        self.connection.commit()

    def _close(self) -> None:
        self.connection.close()

    def _serialize(self) -> None:
        self._execute(f"SELECT pg_advisory_xact_lock({_LOAD_LOCK})")

    def _read_ledger(self, ledger: LedgerComparison) -> None:
        # Every entry of the table is joined with its row. Fresh from a load, the ledger's statistics can still
        # say it is empty (autovacuum analyzes it later): the planner then looked the entries up one by one,
        # at three times the cost of hashing them. (Until the end of describe()'s transaction, which reads
        # nothing more.)
        self._execute("SET LOCAL enable_nestloop = off")
        # Read through a cursor (_batches), which PostgreSQL plans to return its first tenth of rows quickly
        # by default; every entry is read, so plan for all of them.
        self._execute("SET LOCAL cursor_tuple_fraction = 1")
        super()._read_ledger(ledger)

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self.cursor.execute(sql.encode(), list(parameters) or None)

    def _fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._execute(sql, parameters)
        return self.cursor.fetchall()

    def _batches(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[Sequence[tuple[Any, ...]]]:
        # A cursor on the server: a client-side one would hold every row in libpq's memory first.
        with self.connection.cursor(name="articles_batches") as rows:
            rows.execute(sql.encode(), list(parameters) or None)
            yield from in_batches(rows, self.ledger_batch)

    def _described(self, table: str, temporary: bool) -> list[Column] | None:
        name = table if temporary else qualified_name(table, self.dialect)
        rows = self._fetch(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [name],
        )
        return [Column(column, kind) for column, kind in rows] or None

    def _stage_rows(self, staged: Path | None) -> None:
        self._execute(f"CREATE TEMPORARY TABLE {STAGED} (LIKE {self.name}) ON COMMIT DROP")
        if staged is None:
            return
        with self.cursor.copy(f"COPY {STAGED} ({', '.join(self.columns)}) FROM STDIN".encode()) as copy:
            for row in _rows(staged, self.layout):
                copy.write_row(row)
        self._execute(f"ANALYZE {STAGED}")  # no autovacuum for temporary tables: the planner needs the counts

    def _stage_values(self, name: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
        listed = ", ".join(f"{self.dialect.identifier(column)} {kind}" for column, kind in columns.items())
        key = self.dialect.identifier(next(iter(columns)))
        self._execute(f"CREATE TEMPORARY TABLE {name} ({listed}, PRIMARY KEY ({key})) ON COMMIT DROP")
        with self.cursor.copy(f"COPY {name} FROM STDIN".encode()) as copy:
            for row in rows:
                copy.write_row(row)
        self._execute(f"ANALYZE {name}")

    def _upsert(self, columns: list[str]) -> tuple[int, int]:
        listed = ", ".join(columns)
        excluded = ", ".join(f"EXCLUDED.{c}" for c in columns)
        current = ", ".join(f"t.{c}" for c in columns)
        # xmax = 0 tells a fresh insert from an update; equal rows are skipped by the WHERE.
        result = self._fetch(
            f"WITH upserted AS (INSERT INTO {self.name} AS t ({listed}) SELECT {listed} FROM {STAGED} "
            f"ON CONFLICT ({self.key}) DO UPDATE SET ({listed}) = ROW({excluded}) "
            f"WHERE ({current}) IS DISTINCT FROM ({excluded}) RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted"
        )
        return int(result[0][0]), int(result[0][1])


def _rows(staged: Path, layout: Field) -> Iterator[list[Any]]:
    """The staged rows, batch by batch, as PostgreSQL values: memory stays flat."""
    nested = [f.name for f in layout.children if DIALECTS["postgres"].column_type(f) == "jsonb"]
    for batch in staged_batches(staged):
        for record in batch.to_pylist():
            for name in nested:
                if record[name] is not None:
                    record[name] = Jsonb(record[name], dumps=json_text)
            yield list(record.values())
