"""A load into a Delta Lake table (`--into delta:PATH` or `delta:s3://bucket/table`), with the deltalake package.

Each load is one Delta commit, so the ledger cannot be a table of its own:
two tables cannot be committed together. Each row carries its own ledger
entry instead, in columns named `_articles_*` (as dlt adds `_dlt_load_id`),
and a load is one MERGE by webUrl whose source holds, per webUrl, an action:

- `row`: a row read, new or different from the table's: inserted or updated whole;
- `ledger`: a row read, equal to the table's: only its ledger columns are updated;
- `restate`: an unchanged file whose stat stamp changed: its ledger columns updated;
- `delete`: a webUrl no longer in the corpus (a file gone with --prune, a webUrl
  changed, a file now invalid or a duplicate): its row deleted.

The rows read are compared with the table's rows of the same webUrls batch
by batch, and the merge's source is written to a temporary Parquet file that
the merge then streams: memory stays flat. A
load that changes nothing commits nothing. A commit that meets another
load's commit fails (S3 conditional writes, a local atomic rename), and so
does a load that finds the table at another version than it planned on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from converters.arrow_schema import arrow_field, arrow_schema
from converters.discover import is_uri
from converters.layout import KEY_FIELD, Field
from converters.load import target_path
from converters.load.commit import interrupts_held
from converters.load.errors import LoadConflict, LoadError, LoadFailed, refused_by_append
from converters.load.evolution import Column, Fixes, OnSchemaChange, added_columns
from converters.load.ledger import LEDGER_KINDS, LedgerComparison, LedgerEntry
from converters.load.sql_target import LEDGER_BATCH, STAGED_ROW_GROUP, Applied, Change, TableState
from converters.load.staged import staged_batches

ACTION = "_articles_action"
# The ledger's columns in each row, in LedgerEntry's order after webUrl, then when the load committed.
LEDGER_FIELDS = [
    *(arrow_field(Field(f"_articles_{name}", kind)) for name, kind in LEDGER_KINDS.items() if name != KEY_FIELD),
    arrow_field(Field("_articles_loaded_at", "datetime")),
]
_LEDGER_NAMES = [field.name for field in LEDGER_FIELDS]
COMPARE_BATCH_ROWS = 5_000


class DeltaTarget:
    ledger_batch = LEDGER_BATCH
    staged_row_group = STAGED_ROW_GROUP

    def __init__(self, target: str, table: str, ledger: str, layout: Field) -> None:
        self.uri = target_path(target)
        self.table = table  # the table's name in its metadata, when a load creates it
        self.data = arrow_schema(layout)
        self.full = pa.schema([*self.data, *LEDGER_FIELDS])
        self.options = _storage_options(self.uri)

    # -- planning --------------------------------------------------------------------------------

    def describe(self, ledger: LedgerComparison | None) -> TableState:
        expected = _columns(_as_delta(self.data))
        try:
            table = self._open()
        except TableNotFoundError:
            return TableState(None, expected, "")
        stored = pa.schema(table.schema().to_arrow())
        columns = _columns(pa.schema([field for field in stored if not field.name.startswith("_articles_")]))
        if not set(_LEDGER_NAMES) <= set(stored.names):
            raise LoadError(
                f"the Delta table {self.uri} has no _articles_* ledger columns: it was not made by articles load; "
                "load into another table, or rebuild this one with --mode replace"
            )
        if ledger is not None:
            known = ds.field("_articles_file").is_valid()
            planned = [KEY_FIELD, *_LEDGER_NAMES[:-2]]  # LedgerRow: the entry without its load_id
            batches = table.to_pyarrow_dataset().to_batches(columns=planned, filter=known, batch_size=self.ledger_batch)
            for batch in batches:
                ledger.take(zip(*(batch.column(name).to_pylist() for name in planned), strict=True))
        return TableState(columns, expected, str(table.version()))

    def planned_columns(self, state: TableState, required: frozenset[str], on_change: OnSchemaChange) -> list[Column]:
        if state.columns is None:
            return []
        fixes = Fixes(drop=None, change_type=None, add=None)  # a Delta table changes by a rewrite
        return added_columns(self.uri, state.columns, state.expected, required, on_change, fixes)

    # -- the load --------------------------------------------------------------------------------

    def apply(self, change: Change) -> Applied:
        try:
            return self._apply(change)
        except CommitFailedError as error:
            raise LoadConflict(f"another commit to {self.uri} came first: {error}") from error
        except (DeltaError, OSError) as error:
            raise LoadFailed(f"cannot load into {self.uri}: {str(error).strip()}; the table is unchanged") from error

    def _apply(self, change: Change) -> Applied:
        try:
            table: DeltaTable | None = self._open()
        except TableNotFoundError:
            table = None
        if change.mode != "replace" and (str(table.version()) if table is not None else "") != change.ledger_version:
            raise LoadConflict(f"another load into {self.uri} committed while this one ran: run it again")
        loaded_at = datetime.now(UTC)
        entries = {entry.url: entry for entry in change.entries}
        if table is None or change.mode == "replace":
            deleted = table.to_pyarrow_dataset().count_rows() if table is not None else 0
            rows = self._rows(change.staged, entries, loaded_at)
            exists = table is not None
            write_deltalake(
                self.uri, pa.RecordBatchReader.from_batches(self.full, rows), mode="overwrite" if exists else "append",
                schema_mode="overwrite" if exists else None, name=self.table, storage_options=self.options,
            )  # fmt: skip
            inserted = _count(self.uri, self.options) if change.staged is not None else 0
            return Applied(inserted=inserted, deleted=deleted)
        source = _Source(self, table, change, entries, loaded_at)
        if source.empty:
            return Applied()  # nothing read, restated or gone: no commit at all
        assert change.staged is not None or not source.read
        # Written out first: the merge reads its source from inside deltalake's own runtime, where the
        # table's rows (to compare with) cannot be read.
        prepared = Path(tempfile.mkdtemp(prefix="articles-delta-")) / "source.parquet"
        try:
            with pq.ParquetWriter(prepared, source.schema) as writer:
                for batch in source.batches():
                    writer.write_batch(batch)
            if change.mode == "append" and source.known:
                raise refused_by_append(self.uri, source.known)
            # delta-rs runs the merge and its commit in one call, which an interrupt cannot stop: raised when
            # the call returned, it said that nothing was loaded, when all was.
            with interrupts_held():
                merged = self._merge(table, prepared, bool(change.added))
        finally:
            shutil.rmtree(prepared.parent, ignore_errors=True)
        return Applied(source.inserted, source.updated, source.unchanged, int(merged["num_target_rows_deleted"]))

    def _merge(self, table: DeltaTable, prepared: Path, evolve: bool) -> dict[str, Any]:
        everything = {name: f"s.`{name}`" for name in self.full.names}
        ledger = {name: f"s.`{name}`" for name in _LEDGER_NAMES}
        source = pq.ParquetFile(prepared)
        merger = table.merge(
            pa.RecordBatchReader.from_batches(source.schema_arrow, source.iter_batches(COMPARE_BATCH_ROWS)),
            f"t.`{KEY_FIELD}` = s.`{KEY_FIELD}`",
            source_alias="s",
            target_alias="t",
            merge_schema=evolve,
        )
        merger = merger.when_matched_delete(predicate=f"s.{ACTION} = 'delete'")
        merger = merger.when_matched_update(everything, predicate=f"s.{ACTION} = 'row'")
        merger = merger.when_matched_update(ledger, predicate=f"s.{ACTION} IN ('ledger', 'restate')")
        merger = merger.when_not_matched_insert(everything, predicate=f"s.{ACTION} = 'row'")
        return dict(merger.execute())

    def _rows(
        self, staged: Path | None, entries: dict[str, LedgerEntry], loaded_at: datetime
    ) -> Iterator[pa.RecordBatch]:
        """The rows read, each with its ledger columns."""
        if staged is None:
            return
        for batch in staged_batches(staged, COMPARE_BATCH_ROWS):
            yield _with_ledger(batch, [entries.get(url) for url in batch.column(KEY_FIELD).to_pylist()], loaded_at)

    def _open(self) -> DeltaTable:
        return DeltaTable(self.uri, storage_options=self.options)


class _Source:
    """The merge's source, streamed: the rows read with their actions, then restated and deleted webUrls.
    Counts the rows inserted, updated and unchanged as the merge reads it."""

    def __init__(
        self, target: DeltaTarget, table: DeltaTable, change: Change, entries: dict[str, LedgerEntry], at: datetime
    ) -> None:
        self.target, self.change, self.entries, self.loaded_at = target, change, entries, at
        self.dataset = table.to_pyarrow_dataset()
        self.keys = _keys(self.dataset)
        self.schema = target.full.append(pa.field(ACTION, pa.string()))
        self.inserted = self.updated = self.unchanged = 0
        self.known: list[str] = []  # webUrls the table has for another row, or for another file's
        self.read: set[str] = set()
        if change.staged is not None:
            self.read = set(pq.read_table(change.staged, columns=[KEY_FIELD]).column(KEY_FIELD).to_pylist())
        self.restated = [entry for url, entry in entries.items() if url not in self.read]
        self.deleted = sorted(change.forget - self.read - {entry.url for entry in self.restated})
        self.empty = not (self.read or self.restated or self.deleted)

    def batches(self) -> Iterator[pa.RecordBatch]:
        for batch in self.target._rows(self.change.staged, self.entries, self.loaded_at):
            yield self._with_actions(batch)
        if self.restated:
            empty = pa.nulls(len(self.restated))
            data = {name: empty.cast(self.target.full.field(name).type) for name in self.target.data.names}
            data[KEY_FIELD] = pa.array([entry.url for entry in self.restated], pa.string())
            restated = pa.RecordBatch.from_pydict(data, schema=self.target.data)
            yield _with_ledger(restated, list(self.restated), self.loaded_at).append_column(
                ACTION, pa.array(["restate"] * len(self.restated), pa.string())
            )
        for start in range(0, len(self.deleted), COMPARE_BATCH_ROWS):
            urls = self.deleted[start : start + COMPARE_BATCH_ROWS]
            columns = [
                pa.array(urls, pa.string()) if name == KEY_FIELD else pa.nulls(len(urls), self.schema.field(name).type)
                for name in self.schema.names
            ]
            columns[-1] = pa.array(["delete"] * len(urls), pa.string())
            yield pa.RecordBatch.from_arrays(columns, schema=self.schema)

    def _with_actions(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Each row read compared with the table's row of its webUrl: `row` when new or different, else `ledger`."""
        data = batch.select(self.target.data.names)
        urls = data.column(KEY_FIELD)
        found = self.dataset.take(_where(self.keys, urls))
        names = self.target.data.names
        # A column the schema just added is not in the table yet: its values there are null.
        current = {row[KEY_FIELD]: {name: row.get(name) for name in names} for row in found.to_pylist()}
        actions = []
        for row in data.to_pylist():
            before = current.get(row[KEY_FIELD])
            if before is None:
                self.inserted += 1
            elif before == row:
                self.unchanged += 1
            else:
                self.updated += 1
            if before is not None and (before != row or row[KEY_FIELD] not in self.change.forget):
                self.known.append(row[KEY_FIELD])
            actions.append("ledger" if before == row else "row")
        return batch.append_column(ACTION, pa.array(actions, pa.string()))


def _with_ledger(batch: pa.RecordBatch, entries: list[LedgerEntry | None], loaded_at: datetime) -> pa.RecordBatch:
    """The batch with its ledger columns: LEDGER_FIELDS, from each row's entry (None: a file that could not be
    fingerprinted, which the next load reads again)."""
    for position, field in enumerate(LEDGER_FIELDS[:-1], start=1):  # LedgerEntry's fields after the webUrl
        values = [entry[position] if entry is not None else None for entry in entries]
        batch = batch.append_column(field, pa.array(values, field.type))
    return batch.append_column(LEDGER_FIELDS[-1], pa.array([loaded_at] * batch.num_rows, LEDGER_FIELDS[-1].type))


def _keys(dataset: ds.Dataset) -> pa.Array:
    """The table's webUrls, in row order: a column of 100,000 URLs is a few MB."""
    return dataset.to_table(columns=[KEY_FIELD]).column(KEY_FIELD).combine_chunks().cast(pa.string())


def _where(keys: pa.Array, urls: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The row numbers of these webUrls. Looked up here, not by a dataset filter: deltalake's dataset
    reads strings as string_view, which pyarrow's filters cannot yet compare with string."""
    return pc.indices_nonzero(pc.is_in(keys, value_set=pa.array(urls, pa.string())))


def _columns(schema: pa.Schema) -> list[Column]:
    return [Column(field.name, str(field.type)) for field in schema]


def _as_delta(schema: pa.Schema) -> pa.Schema:
    """The schema as a Delta table keeps it: its types read back as Arrow spells them, like the table's."""
    return pa.schema(Schema.from_arrow(schema).to_arrow())


def _count(uri: str, options: dict[str, str]) -> int:
    return int(DeltaTable(uri, storage_options=options).to_pyarrow_dataset().count_rows())


def _storage_options(uri: str) -> dict[str, str]:
    """The object store reads AWS_* itself; only a plain-http endpoint (a local S3 server) must be allowed."""
    if is_uri(uri) and os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        return {"AWS_ALLOW_HTTP": "true"}
    return {}


__all__ = ["DeltaTarget"]
