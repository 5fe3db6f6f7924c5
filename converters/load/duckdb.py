"""A load into a DuckDB database file: the staged Parquet file is read by DuckDB itself, types and all.

DuckDB's buffers are capped at MEMORY_LIMIT. Left to itself, DuckDB takes up
to 80% of the machine's memory, and holds the rows a load inserts until the
commit; capped, it writes them out as it goes. A table's key index must fit
in the cap too: when it does not (millions of rows), DuckDB fails, at any
statement or at the commit, and the step runs again without the cap.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from converters.load import LoadError, LoadFailed
from converters.load.evolution import Column
from converters.load.ledger import LedgerComparison
from converters.load.sql_target import CHANGED, STAGED, Applied, Change, SqlTarget, TableState, in_batches
from converters.tables.sql import DIALECTS, table_parts
from converters.writers import ExportOptions

_ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64()}
MEMORY_LIMIT = "128MB"
Done = TypeVar("Done")


@contextlib.contextmanager
def _interrupts_as_such() -> Iterator[None]:
    """DuckDB turns Ctrl-C (and SIGTERM, which the command raises as Ctrl-C) during a query into a plain
    RuntimeError: back into KeyboardInterrupt, so that the load stops as interrupted (exit 130), rolled back."""
    try:
        yield
    except RuntimeError as error:
        if str(error) != "Query interrupted":
            raise
        raise KeyboardInterrupt from error


class DuckDbTarget(SqlTarget):
    errors = (duckdb.Error,)
    dialect = DIALECTS["duckdb"]
    memory_limit: str | None = MEMORY_LIMIT  # None: DuckDB's own
    # DuckDB reads the staged file itself, with its own threads: row groups of 1,000 rows raised a first load's
    # peak (docs/performance.md), so it gets the export's own size.
    staged_row_group = ExportOptions().row_group_size

    def describe(self, ledger: LedgerComparison | None) -> TableState:
        describing = super().describe
        return self._within_memory(lambda: describing(ledger))

    def apply(self, change: Change) -> Applied:
        applying = super().apply
        return self._within_memory(lambda: applying(change))

    def _within_memory(self, step: Callable[[], Done]) -> Done:
        """`step` with DuckDB's buffers capped; should DuckDB fail, once more without the cap. Each step is one
        transaction, rolled back when it fails, so running it again is safe. Out of memory is not always
        OutOfMemoryException (at the commit it is a TransactionException), and a connection that this process
        opened without the cap refuses one with it: any DuckDB error gets its second try, and an error that was
        not the cap's is reported by that try."""
        try:
            return step()
        except (LoadError, LoadFailed) as error:
            if self.memory_limit is None or not isinstance(error.__cause__, duckdb.Error):
                raise
        self.memory_limit = None  # the memory DuckDB would take by itself
        return step()

    def _database_exists(self) -> bool:
        return os.path.exists(self.target)

    def _open(self) -> None:
        try:
            config: dict[str, str | bool | int | float | list[str]] = {}
            if self.memory_limit is not None:
                config["memory_limit"] = self.memory_limit
            self.connection = duckdb.connect(self.target, config=config)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise LoadError(f"cannot open DuckDB database {self.target}: {error}") from error
            # Another process has the file open (another load, a notebook): it is busy, not unusable. Exit 3, as
            # for a load that meets another one: a nightly job that runs again on 3 will find it free.
            raise LoadFailed(
                f"DuckDB database {self.target} is in use by another process, nothing was loaded: {error}"
            ) from error
        except duckdb.Error as error:
            raise LoadError(f"cannot open DuckDB database {self.target}: {error}") from error
        self.connection.begin()

    def _commit(self) -> None:
        self.connection.commit()

    def _close(self) -> None:
        self.connection.close()

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        with _interrupts_as_such():
            self.connection.execute(sql, list(parameters))

    def _fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with _interrupts_as_such():
            return self.connection.execute(sql, list(parameters)).fetchall()

    def _batches(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[Sequence[tuple[Any, ...]]]:
        with _interrupts_as_such():
            yield from in_batches(self.connection.execute(sql, list(parameters)), self.ledger_batch)

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
        # Column by column: a dict per row made the ledger of a first load of 100,000 files 40 MB larger.
        arrays = [pa.array([row[at] for row in rows], _ARROW_TYPES[kind]) for at, kind in enumerate(columns.values())]
        values = pa.Table.from_arrays(arrays, names=list(columns))
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
