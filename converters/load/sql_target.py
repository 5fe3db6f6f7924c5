"""One load into an SQL database, the same steps in every engine; each engine module supplies the primitives.

`describe()` reads, in a transaction it rolls back, what planning needs: the
table's columns and the schema's (the engine's own spelling of both), and
the ledger's entries for the table. `apply()` then does the whole load in
one transaction:

1. check that no other load committed since `describe()` (else the plan is stale);
2. `--mode replace`: drop the table, so that it is made afresh from the schema;
3. create the table and the ledger if they do not exist; add new columns;
4. stage the rows read, and the webUrls of the files read again or gone;
5. `--mode append`: refuse rows whose webUrl the table has for another row;
6. delete the rows of those webUrls that no row read takes over;
7. upsert the rows read by webUrl (an equal row is left alone);
8. replace the ledger entries of the webUrls staged, forgotten or restated;
9. commit.

The temporary tables are named `_articles_*`, a prefix no --table may take:
an unqualified name finds a temporary table before the user's.

Killed at any point before the commit, the engine rolls the transaction
back: table and ledger are both as they were.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from converters.layout import KEY_FIELD, Field
from converters.load.commit import interrupts_held
from converters.load.errors import LoadConflict, LoadError, LoadFailed, refused_by_append
from converters.load.evolution import Column, Fixes, OnSchemaChange, added_columns
from converters.load.ledger import LEDGER_COLUMNS, LEDGER_KINDS, LedgerComparison, LedgerEntry
from converters.tables.sql import Dialect, create_schema, create_table, qualified_name

Mode = Literal["merge", "append", "replace"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A load stamps its entries at least this much later than the last: with a clock set back, or hosts whose
# clocks differ, the latest stamp still changes with every load, and so does the ledger's version.
_TICK = timedelta(microseconds=1)
RESERVED_PREFIX = "_articles_"  # the ledger's and the temporary tables': no --table may start with it
EXPECTED = "_articles_expected"  # made from the schema's DDL, to read its column types as the engine spells them
STAGED = "_articles_staged"  # the rows read
FORGOTTEN = "_articles_forgotten"  # webUrls whose ledger entries go
ENTRIES = "_articles_entries"  # the ledger's new entries
CHANGED = "_articles_changed"  # rows read that differ from the table's (DuckDB)
LEDGER_BATCH = 10_000  # ledger entries read at once: a batch is compared with the listing, then let go
# Rows per row group of the staged Parquet file, for the targets that read it back as Python values, 1,000 rows at
# a time (staged.py): a Parquet reader holds a whole row group (docs/performance.md).
STAGED_ROW_GROUP = 1_000


class _Cursor(Protocol):
    def fetchmany(self, size: int, /) -> Sequence[tuple[Any, ...]]: ...


def in_batches(rows: _Cursor, size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
    """A query's rows, `size` at a time (each engine's `_batches`)."""
    while batch := rows.fetchmany(size):
        yield batch


@dataclass(slots=True)
class TableState:
    columns: list[Column] | None  # None: no such table yet
    expected: list[Column]  # the schema's columns, as this engine spells their types
    ledger_version: str  # changes with every committed load: apply() checks it is still the same


@dataclass(slots=True)
class Change:
    mode: Mode
    staged: Path | None  # the valid rows read, as Parquet; None: no row was read
    entries: list[LedgerEntry]  # the ledger's new entries
    forget: set[str]  # webUrls whose entries go (their rows too, unless a row read takes the webUrl)
    added: list[Column] = field(default_factory=list)
    ledger_version: str = ""
    reset_ledger: bool = False  # the table is made afresh: every ledger entry of it goes first


@dataclass(frozen=True, slots=True)
class Applied:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


class SqlTarget(ABC):
    dialect: Dialect
    parameter = "?"  # the driver's placeholder
    errors: tuple[type[Exception], ...]  # the driver's own: a database that fails mid-load
    changes_types = True  # ALTER TABLE ... ALTER COLUMN ... TYPE exists
    ledger_batch = LEDGER_BATCH
    staged_row_group = STAGED_ROW_GROUP

    def __init__(self, target: str, table: str, ledger: str, layout: Field) -> None:
        self.target, self.table, self.layout = target, table, layout
        self.ledger_table = ledger
        self.name = qualified_name(table, self.dialect)
        self.ledger = qualified_name(ledger, self.dialect)
        self.key = self.dialect.identifier(KEY_FIELD)
        self.columns = [self.dialect.identifier(child.name) for child in layout.children]

    # -- what each engine supplies ---------------------------------------------------------------

    @abstractmethod
    def _open(self) -> None:
        """Connect, and begin a transaction. LoadError when the database cannot be opened."""

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _close(self) -> None:
        """Close the connection; a transaction not committed is rolled back."""

    @abstractmethod
    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def _fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _batches(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[Sequence[tuple[Any, ...]]]:
        """A query's rows, `ledger_batch` at a time: never all of a large table's at once."""

    @abstractmethod
    def _described(self, table: str, temporary: bool) -> list[Column] | None:
        """A table's columns and their types, in table order; None when there is no such table."""

    @abstractmethod
    def _stage_rows(self, staged: Path | None) -> None:
        """A temporary table `staged` with the table's columns, holding the Parquet file's rows."""

    @abstractmethod
    def _stage_values(self, name: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
        """A temporary table `name` of `columns` (name -> type), holding `rows`, keyed by its first column."""

    @abstractmethod
    def _upsert(self, columns: list[str]) -> tuple[int, int]:
        """Insert the staged rows, replacing those that differ: -> (inserted, updated)."""

    def _fixes(self) -> Fixes:
        def change_type(column: str, kind: str) -> str:
            return f"ALTER TABLE {self.name} ALTER COLUMN {self.dialect.identifier(column)} TYPE {kind}"

        return Fixes(
            drop=lambda column: f"ALTER TABLE {self.name} DROP COLUMN {self.dialect.identifier(column)}",
            change_type=change_type if self.changes_types else None,
            add=self._add_column,
        )

    def _timestamp(self, moment: datetime) -> Any:
        return moment

    def _differs(self, a: str, b: str) -> str:
        """SQL true when the rows aliased `a` and `b` differ in any column, NULLs compared as values."""
        left, right = (", ".join(f"{alias}.{column}" for column in self.columns) for alias in (a, b))
        return f"({left}) IS DISTINCT FROM ({right})"

    def _serialize(self) -> None:  # noqa: B027 - most engines need nothing here
        """Wait for other loads into this database to commit (engines whose transactions do not already)."""

    # -- the load --------------------------------------------------------------------------------

    def _database_exists(self) -> bool:
        return True

    def describe(self, ledger: LedgerComparison | None) -> TableState:
        """The table as it is, and (unless `ledger` is None) its ledger's entries, read into `ledger`."""
        if ledger is not None:
            ledger.reset()  # a second try (DuckDB's, uncapped) starts over, however far the first got
        if not self._database_exists():
            return TableState(None, [], "")  # made by apply(), so that a load that stops first leaves none
        self._open()
        try:
            return self._describe(ledger)
        except self.errors as error:
            raise LoadError(f"cannot read table {self.table}: {str(error).strip()}") from error
        finally:
            self._close()

    def _describe(self, ledger: LedgerComparison | None) -> TableState:
        expected_ddl = create_table(self.layout, EXPECTED, self.dialect).replace(
            "CREATE TABLE IF NOT EXISTS", "CREATE TEMPORARY TABLE", 1
        )
        self._execute(expected_ddl)
        expected = self._described(EXPECTED, temporary=True)
        assert expected is not None
        state = TableState(self._described(self.table, temporary=False), expected, "")
        ledger_columns = self._described(self.ledger_table, temporary=False)
        if ledger_columns is not None:
            self._check_ledger(ledger_columns)
            state.ledger_version, _ = self._ledger_state()
            # Without the table (or its key), no entry holds: every file is read.
            has_key = state.columns is not None and KEY_FIELD in (column.name for column in state.columns)
            if ledger is not None and has_key:
                self._read_ledger(ledger)
        return state

    def _check_ledger(self, columns: list[Column]) -> None:
        expected = ["table_name", *LEDGER_COLUMNS, "loaded_at"]
        if [column.name for column in columns] != expected:
            raise LoadError(
                f"the ledger {self.ledger_table} does not have the columns this version of articles keeps "
                f"({', '.join(expected)}): drop it, and the next load reads every file, or give another --ledger"
            )

    def planned_columns(self, state: TableState, required: frozenset[str], on_change: OnSchemaChange) -> list[Column]:
        """The columns to add; SchemaChangeError when the table cannot take the rows."""
        if state.columns is None:
            return []
        return added_columns(self.table, state.columns, state.expected, required, on_change, self._fixes())

    def apply(self, change: Change) -> Applied:
        self._open()
        closed = False
        try:
            applied = self._apply(change)
            with interrupts_held():  # begun, the commit is seen through, and the connection closed after it
                self._commit()
                closed = True
                # Committed: the load is done. A failure to close now (DuckDB's checkpoint, say) leaves it so,
                # and must not be reported as a load that changed nothing, or tried again.
                with contextlib.suppress(*self.errors):
                    self._close()
        except self.errors as error:
            raise LoadFailed(f"cannot load into {self.table}: {str(error).strip()}; the table is unchanged") from error
        finally:
            if not closed:
                self._close()  # the transaction rolled back
        return applied

    def _apply(self, change: Change) -> Applied:
        self._serialize()
        version, latest = self._ledger_state() if self._exists(self.ledger_table) else ("", _EPOCH)
        if change.mode != "replace" and version != change.ledger_version:
            raise LoadConflict(f"another load into {self.table} committed while this one ran: run it again")
        loaded_at = max(datetime.now(UTC), latest + _TICK)
        deleted = 0
        if change.mode == "replace":
            deleted = self._count(f"SELECT count(*) FROM {self.name}") if self._exists(self.table) else 0
            self._execute(f"DROP TABLE IF EXISTS {self.name}")
        self._execute(create_table(self.layout, self.table, self.dialect))
        for statement in self._ledger_ddl():
            self._execute(statement)
        for column in change.added:
            self._execute(self._add_column(column.name, column.type))
        self._stage_rows(change.staged)
        self._stage_values(FORGOTTEN, {"url": self.dialect.scalars["string"]}, [(url,) for url in change.forget])
        if change.mode == "append":
            self._refuse_existing()
        deleted += self._delete_forgotten()
        staged = self._count(f"SELECT count(*) FROM {STAGED}")
        inserted, updated = self._upsert(self.columns)
        self._replace_entries(change, loaded_at)
        return Applied(inserted, updated, staged - inserted - updated, deleted)

    def _refuse_existing(self) -> None:
        """Append inserts: a row read whose webUrl the table has for another row, or for another file's row,
        stops it. A file read again with the same row (after a change of rules) is no new article."""
        key = self.key
        found = self._fetch(
            f"SELECT s.{key} FROM {STAGED} s JOIN {self.name} t ON s.{key} = t.{key} WHERE {self._differs('s', 't')} "
            f"OR NOT EXISTS (SELECT 1 FROM {FORGOTTEN} f WHERE f.url = s.{key})"
        )
        if found:
            raise refused_by_append(self.table, [row[0] for row in found])

    def _delete_forgotten(self) -> int:
        key = self.key
        # Driven by the few webUrls forgotten, each looked up by the table's key, never a scan of the table;
        # NOT EXISTS rather than NOT IN, which PostgreSQL runs as a loop per row over a large subquery.
        gone = (
            f"{key} IN (SELECT f.url FROM {FORGOTTEN} f "
            f"WHERE NOT EXISTS (SELECT 1 FROM {STAGED} s WHERE s.{key} = f.url))"
        )
        deleted = self._count(f"SELECT count(*) FROM {self.name} WHERE {gone}")
        if deleted:
            self._execute(f"DELETE FROM {self.name} WHERE {gone}")
        return deleted

    def _replace_entries(self, change: Change, loaded_at: datetime) -> None:
        p = self.parameter
        kinds = {name: self.dialect.scalars[kind] for name, kind in LEDGER_KINDS.items()}
        self._stage_values(ENTRIES, kinds, change.entries)
        key = self.dialect.identifier("webUrl")
        if change.mode == "replace" or change.reset_ledger:
            self._execute(f'DELETE FROM {self.ledger} WHERE "table_name" = {p}', [self.table])
        else:
            self._execute(
                f'DELETE FROM {self.ledger} WHERE "table_name" = {p} AND {key} IN '
                f"(SELECT url FROM {FORGOTTEN} UNION ALL SELECT {key} FROM {ENTRIES})",
                [self.table],
            )
        columns = ", ".join(self.dialect.identifier(name) for name in LEDGER_COLUMNS)
        into = f'{self.ledger} ("table_name", {columns}, "loaded_at")'
        self._execute(
            f"INSERT INTO {into} SELECT {p}, {columns}, {p} FROM {ENTRIES}", [self.table, self._timestamp(loaded_at)]
        )

    def _ledger_ddl(self) -> list[str]:
        scalars = self.dialect.scalars
        kinds = {"table_name": "string", **LEDGER_KINDS, "loaded_at": "datetime"}
        columns = [
            f"{self.dialect.identifier(name)} {scalars[kind]}{'' if name == 'stat' else ' NOT NULL'}"
            for name, kind in kinds.items()
        ]
        key = f'PRIMARY KEY ("table_name", {self.dialect.identifier("webUrl")})'
        schema = create_schema(self.ledger_table, self.dialect)
        table = f"CREATE TABLE IF NOT EXISTS {self.ledger} ({', '.join([*columns, key])})"
        return [schema, table] if schema else [table]

    def _read_ledger(self, ledger: LedgerComparison) -> None:
        """The table's entries into `ledger`, a batch at a time, but those whose row the table lacks: a row
        deleted by hand (or a table emptied) makes its file read again, rather than trusted as loaded."""
        p, key = self.parameter, self.dialect.identifier("webUrl")
        # Asked apart: as a condition of the query below, SQLite's look-up per entry doubled its time, where a
        # query that finds none costs a third of it.
        lacking = self._fetch(
            f'SELECT l.{key} FROM {self.ledger} l WHERE l."table_name" = {p} '
            f"AND NOT EXISTS (SELECT 1 FROM {self.name} t WHERE t.{self.key} = l.{key})",
            [self.table],
        )
        urls = {url for (url,) in lacking}
        columns = ", ".join(f"l.{self.dialect.identifier(name)}" for name in LEDGER_COLUMNS if name != "load_id")
        for batch in self._batches(f'SELECT {columns} FROM {self.ledger} l WHERE l."table_name" = {p}', [self.table]):
            ledger.take([row for row in batch if row[0] not in urls] if urls else batch)

    def _ledger_state(self) -> tuple[str, datetime]:
        """The ledger's version, and when the last load that wrote entries stamped them (the epoch for none).

        The version changes with every load that commits: each stamps its entries later than any before it
        (a _TICK after the latest), and one that adds no entry removes some. The stamp is read as text: a
        driver's own timestamps may need more (DuckDB's time zones need pytz)."""
        latest_as_text = f'CAST(max("loaded_at") AS {self.dialect.scalars["string"]})'
        ((count, latest_text),) = self._fetch(
            f'SELECT count(*), {latest_as_text} FROM {self.ledger} WHERE "table_name" = {self.parameter}', [self.table]
        )
        latest = datetime.fromisoformat(latest_text) if latest_text is not None else _EPOCH
        return f"{count}:{latest.isoformat()}", latest

    def _add_column(self, column: str, kind: str) -> str:
        return f"ALTER TABLE {self.name} ADD COLUMN {self.dialect.identifier(column)} {kind}"

    def _exists(self, table: str) -> bool:
        return self._described(table, temporary=False) is not None

    def _count(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        return int(self._fetch(sql, parameters)[0][0])
