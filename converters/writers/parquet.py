"""Parquet, with the Arrow schema derived from the JSON Schema (see arrow_schema.py).

Written streaming: records become one Arrow batch per incoming batch, and a
row group is written once `--row-group-size` rows are buffered, so memory is
bounded by the row group, not the corpus. Timestamps are microseconds in UTC
(never INT96 or nanoseconds, which Spark and BigQuery misread), and lists use
the compliant nested layout.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

from converters.arrow_schema import (
    arrow_schema,
    cast_timestamps,
    record_batch,
    row_converter,
    text_timestamps,
)
from converters.layout import Field
from converters.partitions import PartitionKey, partition_key, without_partition_column
from converters.writers.base import (
    COMPRESSIONS,
    Encoder,
    EncodingWriter,
    ExportOptions,
    SchemaInfo,
    TaskShare,
    Writer,
    WriterError,
    kept,
)

# Kinds that Arrow's JSON reader reads as its conversion of Python values does, when it reads them
# at all. A "number" is left out: the reader takes an integer past 2**53 as a float, where the
# conversion refuses it.
_KINDS_JSON_READS_AS_PYTHON_DOES = frozenset({"object", "array", "string", "datetime", "integer", "boolean"})
_JSON_BLOCK_LIMIT = 1 << 30  # the reader's block size is a 32-bit integer


def _kinds(field: Field) -> set[str]:
    found: set[str] = {field.kind}
    for child in (*field.children, *([field.items] if field.items is not None else [])):
        found |= _kinds(child)
    return found


def _file_writer(where: BinaryIO | str, schema: pa.Schema, options: ExportOptions) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        where,
        schema,
        compression=options.compression,
        use_compliant_nested_type=True,
        version="2.6",
        write_statistics=True,
    )


class ArrowBatches:
    """The Parquet writer's encoder: a chunk of records -> one Arrow batch, built in a worker process.

    Called as the encoder, it returns the batch in Arrow's IPC form, which is
    sent back from the worker about 8 times faster than a pickled batch.
    """

    def __init__(self, schema: SchemaInfo) -> None:
        self.schema = schema

    # Built on first use, in the process that uses them.
    @functools.cached_property
    def arrow(self) -> pa.Schema:
        return arrow_schema(self.schema.layout, self.schema.schema_id, self.schema.version)

    @functools.cached_property
    def text_arrow(self) -> pa.Schema:
        return text_timestamps(self.arrow)

    @functools.cached_property
    def row_of(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return row_converter(self.schema.layout)

    @functools.cached_property
    def text_row_of(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return row_converter(self.schema.layout, timestamps=False)

    @functools.cached_property
    def json_options(self) -> pj.ParseOptions | None:
        """How Arrow's JSON reader reads a record into the batch's text form: None when it cannot, for a
        layout with values that are not pinned to one type (kept as JSON text) or with numbers."""
        if not _kinds(self.schema.layout) <= _KINDS_JSON_READS_AS_PYTHON_DOES:
            return None
        return pj.ParseOptions(explicit_schema=self.text_arrow, unexpected_field_behavior="ignore")

    def from_json(self, texts: list[bytes]) -> bytes | None:
        """The batch of the records whose JSON texts these are, as __call__ makes it of the records; None
        when Arrow's reader cannot make that batch.

        Arrow's reader is stricter than its conversion of Python values: it
        refuses, rather than converts, 5.0 for an integer, and refuses a
        value of another type. Such a chunk goes the longer way, so that the
        batch is the one a run without the cache makes; tests/test_cache.py
        compares the two on every format and option. About 10 µs a record
        faster than parsing the JSON and converting the records.
        """
        data = b"\n".join(texts)  # orjson's text holds no newline
        if self.json_options is None or not texts or len(data) >= _JSON_BLOCK_LIMIT:
            return None
        try:
            read = pj.read_json(
                pa.py_buffer(data),
                read_options=pj.ReadOptions(use_threads=False, block_size=len(data) + 1),  # one block
                parse_options=self.json_options,
            )
            batches = read.combine_chunks().to_batches()
            if len(batches) != 1 or batches[0].num_rows != len(texts):
                return None
            serialized: bytes = cast_timestamps(batches[0], self.arrow).serialize().to_pybytes()
        except pa.ArrowException:
            return None
        return serialized

    def __call__(self, records: Sequence[dict[str, Any]]) -> bytes:
        serialized: bytes = self.batch(records).serialize().to_pybytes()
        return serialized

    def batch(self, records: Sequence[dict[str, Any]]) -> pa.RecordBatch:
        try:
            texts = record_batch([self.text_row_of(record) for record in records], self.text_arrow)
            return cast_timestamps(texts, self.arrow)
        except pa.ArrowInvalid:
            pass  # a date-time in a form Arrow's parser refuses: Python's reads this chunk
        return record_batch([self.row_of(record) for record in records], self.arrow)


class ParquetWriter(EncodingWriter):
    text = False

    @classmethod
    def variant(cls, options: ExportOptions) -> type[Writer]:
        return ParquetDatasetWriter if options.partition_by else cls

    @classmethod
    def check_options(cls, options: ExportOptions) -> None:
        if options.compression not in COMPRESSIONS:
            raise WriterError(f"--compression must be one of {', '.join(COMPRESSIONS)}, not {options.compression!r}")

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        assert not isinstance(target, Path)
        self.arrow = arrow_schema(schema.layout, schema.schema_id, schema.version)
        self.file = _file_writer(target, self.arrow, options)
        self.pending = _RowGroup(self.arrow, options.row_group_size, self.file.write_table)

    @classmethod
    def encoder(cls, schema: SchemaInfo, options: ExportOptions) -> Encoder:
        batches = ArrowBatches(schema)
        return Encoder(chunk=batches, from_json=batches.from_json)

    def write_encoded(self, encoded: bytes, keep: Sequence[bool]) -> int:
        batch = kept_rows(encoded, self.arrow, keep)
        self.pending.add(batch)
        rows: int = batch.num_rows
        return rows

    def close(self) -> None:
        self.pending.flush()
        self.file.close()

    def abandon(self) -> None:
        _abandon(self.file)


def kept_rows(encoded: bytes, arrow: pa.Schema, keep: Sequence[bool]) -> pa.RecordBatch:
    """A worker's batch, back from its IPC form, without the rows that turned invalid since (duplicates)."""
    batch = pa.ipc.read_record_batch(pa.py_buffer(encoded), arrow)
    return batch if all(keep) else batch.filter(pa.array(keep, pa.bool_()))


class _RowGroup:
    """Arrow batches waiting to become one row group of `size` rows."""

    def __init__(self, schema: pa.Schema, size: int, write: Any) -> None:
        self.schema, self.size, self.write = schema, size, write
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.batches.append(batch)
        self.rows += batch.num_rows
        while self.rows >= self.size:
            table = pa.Table.from_batches(self.batches, schema=self.schema)
            self.write(table.slice(0, self.size), row_group_size=self.size)
            rest = table.slice(self.size)
            self.batches, self.rows = rest.to_batches(), rest.num_rows

    def flush(self) -> None:
        if self.rows:
            self.write(pa.Table.from_batches(self.batches, schema=self.schema), row_group_size=self.size)
        self.batches, self.rows = [], 0


# A cluster task writes a partition's part file itself when it has at least this many of its rows (a chunk's
# worth): fewer are left to the driver, which gathers them across tasks, as a local run does. Every task
# writing every partition it holds made six times a local run's files and bytes with a date partition.
MIN_PART_ROWS = 256


def _parquet_bytes(table: pa.Table, options: ExportOptions) -> bytes:
    sink = pa.BufferOutputStream()
    with _file_writer(sink, table.schema, options) as writer:
        writer.write_table(table, row_group_size=options.row_group_size)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _by_partition(
    batch: pa.RecordBatch, keys: Sequence[str], rows: Sequence[int], into: dict[str, list[pa.RecordBatch]]
) -> int:
    """Add to `into[key]` the batch's rows of each partition (of those in `rows`), in order; -> how many."""
    groups: dict[str, list[int]] = {}
    for index in rows:
        groups.setdefault(keys[index], []).append(index)
    for key, indices in groups.items():
        into.setdefault(key, []).append(batch.take(pa.array(indices)))
    return len(rows)


@dataclass(slots=True)
class DatasetShare(TaskShare):
    """A chunk's share of what a cluster task made of its rows: each row's partition, in order; and on the
    task's last chunk, the part files of its large partitions (partition -> Parquet bytes, named by the
    task's first chunk, `number`) and its other rows, in order, for the driver (Arrow IPC, and their keys)."""

    keys: list[str]
    number: int
    parts: dict[str, bytes] | None = None
    rest: tuple[bytes, list[str]] | None = None


@dataclass(frozen=True, slots=True)
class _DatasetSchemas:
    """A dataset's schema of rows (as the workers encode them) and of files. The partition column lives in
    the directory names only: BigQuery refuses files that hold it too, and readers disagree on which value
    wins when both are there. A derived column (published_date) is in no row to begin with."""

    rows: pa.Schema
    files: pa.Schema
    in_path_only: list[str]

    @classmethod
    def of(cls, schema: SchemaInfo, column: str) -> _DatasetSchemas:
        key = partition_key(schema.layout, column)  # refuses a column that cannot partition, before any file
        rows = arrow_schema(schema.layout, schema.schema_id, schema.version)
        files = arrow_schema(without_partition_column(schema.layout, key), schema.schema_id, schema.version)
        return cls(rows, files, [] if key.derived else [column])

    def file_rows(self, serialized: bytes) -> pa.RecordBatch:
        """A worker's encoded batch, as the files hold its rows."""
        return pa.ipc.read_record_batch(pa.py_buffer(serialized), self.rows).drop_columns(self.in_path_only)


@dataclass(frozen=True, slots=True)
class DatasetParts:
    """The dataset writer's step once per cluster task (Encoder.task), in the worker: the task's rows of each
    partition it holds MIN_PART_ROWS of -> one part file, encoded and compressed there."""

    schema: SchemaInfo
    options: ExportOptions

    def __call__(self, encoded: list[tuple[bytes, list[str]]], number: int) -> list[DatasetShare]:
        assert self.options.partition_by is not None
        schemas = _DatasetSchemas.of(self.schema, self.options.partition_by)
        counts = Counter(partition for _, keys in encoded for partition in keys)
        large = {partition for partition, rows in counts.items() if rows >= MIN_PART_ROWS}
        parts: dict[str, list[pa.RecordBatch]] = {}
        rest: list[pa.RecordBatch] = []
        rest_keys: list[str] = []
        for serialized, keys in encoded:
            batch = schemas.file_rows(serialized)
            _by_partition(batch, keys, [i for i, partition in enumerate(keys) if partition in large], parts)
            small = [i for i, partition in enumerate(keys) if partition not in large]
            rest.append(batch.take(pa.array(small, pa.int64())))
            rest_keys.extend(keys[i] for i in small)
        shares = [DatasetShare(keys, number) for _, keys in encoded]
        shares[-1].parts = {
            partition: _parquet_bytes(pa.Table.from_batches(batches, schema=schemas.files), self.options)
            for partition, batches in parts.items()
        }
        together = pa.Table.from_batches(rest, schema=schemas.files).combine_chunks()
        shares[-1].rest = (_ipc_bytes(together), rest_keys)
        return shares


def _ipc_bytes(table: pa.Table) -> bytes:
    """A table of one chunk (or none) as one record batch's IPC bytes."""
    batches = table.to_batches()
    batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
    data: bytes = batch.serialize().to_pybytes()
    return data


@dataclass(frozen=True, slots=True)
class PartitionedBatches:
    """The dataset writer's encoder: a chunk of records -> its Arrow batch and each row's partition."""

    batches: ArrowBatches
    key: PartitionKey

    def __call__(self, records: Sequence[dict[str, Any]]) -> tuple[bytes, list[str]]:
        return self.batches(records), [self.key(record) for record in records]


class ParquetDatasetWriter(EncodingWriter):
    """A hive-partitioned dataset: `FIELD=VALUE/part-N.parquet`, the partition column in the path only.

    Rows keep their input order within each partition. At most `MAX_OPEN`
    files are open and `row_group_size` rows buffered in all; a partition
    whose file had to be closed continues in its next part file. The
    workers build the Arrow batches and find each row's partition.

    On a cluster, a task writes the part file of each partition it holds
    MIN_PART_ROWS rows of, named `part-N.parquet` by its first chunk N, and
    sends its other rows here, where they are gathered as in a local run,
    in files named by the first task whose rows they hold. A partition's
    file open here is closed before a task's part of it is put in place, so
    files read in name order give the rows in input order. A part is
    written again here only without the rows rejected since (a duplicate
    webUrl).
    """

    text = False
    MAX_OPEN = 256

    @classmethod
    def writes_directory(cls, options: ExportOptions) -> bool:
        return True

    @classmethod
    def check_options(cls, options: ExportOptions) -> None:
        ParquetWriter.check_options(options)

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        assert isinstance(target, Path)
        assert options.partition_by is not None
        self.root = target
        self.column = options.partition_by
        self.schemas = _DatasetSchemas.of(schema, self.column)
        self.open: dict[str, pq.ParquetWriter] = {}  # in order of last use
        self.parts: dict[str, int] = {}
        self.buffers: dict[str, list[pa.RecordBatch]] = {}
        self.buffered = 0
        # On a cluster: the current task's rows (partition, kept), the task whose rows are being buffered,
        # and, per partition buffered, the first task its buffered rows came from (a new file's name).
        self.task_rows: list[tuple[str, bool]] = []
        self.task: int | None = None
        self.since: dict[str, int] = {}

    @classmethod
    def encoder(cls, schema: SchemaInfo, options: ExportOptions) -> Encoder:
        assert options.partition_by is not None
        return Encoder(
            chunk=PartitionedBatches(ArrowBatches(schema), partition_key(schema.layout, options.partition_by)),
            task=DatasetParts(schema, options),
        )

    def write_encoded(self, encoded: tuple[bytes, list[str]] | DatasetShare, keep: Sequence[bool]) -> int:
        if isinstance(encoded, DatasetShare):
            return self._take_share(encoded, keep)
        serialized, keys = encoded
        return self._buffer(self.schemas.file_rows(serialized), keys, keep)

    def _buffer(self, batch: pa.RecordBatch, keys: Sequence[str], keep: Sequence[bool]) -> int:
        rows = kept(range(len(keep)), keep)
        if self.task is not None:
            for index in rows:
                self.since.setdefault(keys[index], self.task)
        self.buffered += _by_partition(batch, keys, rows, self.buffers)
        while self.buffered >= self.options.row_group_size:
            largest = max(self.buffers, key=lambda k: sum(b.num_rows for b in self.buffers[k]))
            self._flush(largest)
        return len(rows)

    def _take_share(self, share: DatasetShare, keep: Sequence[bool]) -> int:
        self.task_rows.extend(zip(share.keys, keep, strict=True))
        if share.parts is None or share.rest is None:
            return sum(keep)  # not the task's last chunk: its rows' fate is known once that one's is
        flags: dict[str, list[bool]] = {}
        rest_flags: list[bool] = []
        for partition, flag in self.task_rows:
            (flags.setdefault(partition, []) if partition in share.parts else rest_flags).append(flag)
        self.task_rows = []
        for partition, data in share.parts.items():
            self._flush(partition)  # the partition's rows of earlier tasks, in a file named before this part
            if (earlier := self.open.pop(partition, None)) is not None:
                earlier.close()
            self._put_part(partition, share.number, data, flags[partition])
        serialized, keys = share.rest
        self.task = share.number
        self._buffer(pa.ipc.read_record_batch(pa.py_buffer(serialized), self.schemas.files), keys, rest_flags)
        return sum(keep)

    def _put_part(self, key: str, number: int, data: bytes, keep: list[bool]) -> None:
        if not any(keep):
            return
        path = self._directory(key) / f"part-{number:08d}.parquet"
        if all(keep):
            path.write_bytes(data)
            return
        table = pq.read_table(pa.BufferReader(data), schema=self.schemas.files).filter(pa.array(keep, pa.bool_()))
        path.write_bytes(_parquet_bytes(table, self.options))

    def _directory(self, key: str) -> Path:
        directory = self.root / f"{quote(self.column, safe='')}={key}"
        directory.mkdir(exist_ok=True)
        return directory

    def _flush(self, key: str) -> None:
        batches = self.buffers.pop(key, [])
        if not batches:
            return
        self.buffered -= sum(b.num_rows for b in batches)
        writer = self.open.pop(key, None) or self._new_file(key)
        self.since.pop(key, None)
        self.open[key] = writer  # most recently used last
        writer.write_table(
            pa.Table.from_batches(batches, schema=self.schemas.files), row_group_size=self.options.row_group_size
        )

    def _new_file(self, key: str) -> pq.ParquetWriter:
        if len(self.open) >= self.MAX_OPEN:
            oldest = next(iter(self.open))
            self.open.pop(oldest).close()
        if self.task is None:
            part = self.parts.get(key, -1) + 1
            self.parts[key] = part
            name = f"part-{part}.parquet"
        else:  # on a cluster: named by the first task whose rows it holds, as the tasks' own parts are
            name = f"part-{self.since[key]:08d}.parquet"
        return _file_writer(os.fspath(self._directory(key) / name), self.schemas.files, self.options)

    def close(self) -> None:
        for key in list(self.buffers):
            self._flush(key)
        for writer in self.open.values():
            writer.close()

    def abandon(self) -> None:
        for writer in self.open.values():
            _abandon(writer)


def _abandon(writer: pq.ParquetWriter) -> None:
    """Drop a file writer unfinished. Its own close() would write a footer, and, once the
    output stream is gone, pyarrow's __del__ would print a 'write to closed file' traceback."""
    writer.is_open = False
    if writer.file_handle is not None:
        with contextlib.suppress(OSError):  # a full disk fails the flush too; the file is deleted anyway
            writer.file_handle.close()
