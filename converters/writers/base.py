"""The interface every output format implements, and the options they share."""

from __future__ import annotations

import functools
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, TypeVar

from converters.layout import Field

Item = TypeVar("Item")

# Parquet's codecs; here rather than beside the writer, so the command line can check one without pyarrow.
COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """Every writer's options in one bag; each writer reads only its own."""

    indent: int | None = None  # json
    escape_formulas: bool = False  # csv
    normalize: bool = False  # csv: child tables in a directory
    compression: str = "zstd"  # parquet
    row_group_size: int = 10_000  # parquet: about 30 MB of articles per row group
    partition_by: str | None = None  # parquet: a dataset directory
    title: str | None = None  # rss channel
    link: str | None = None
    description: str | None = None
    feed_url: str | None = None
    limit: int | None = None
    build_date: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    """What a writer knows of the schema: the layout, and the identity to stamp into files."""

    layout: Field
    schema_id: str
    version: str


@dataclass(frozen=True, slots=True)
class Encoder:
    """How the worker processes turn a chunk of valid records into what write_encoded() takes.

    `each` runs on every record as soon as it is found valid, while the record
    is still in the processor's cache; the record is then dropped, unless
    `each` returns it. `chunk` runs on the chunk's list of what `each`
    returned. Holding a chunk's records for a second pass cost JSON Lines
    about 10 µs a file (about 10% of `validate`'s time), so a format that can
    encode record by record does it in `each`. None: the value as it is.
    Both must pickle, for workers that are spawned rather than forked.
    """

    each: Callable[[dict[str, Any]], Any] | None = None
    chunk: Callable[[list[Any]], Any] | None = None
    # On a cluster, one task checks several chunks (converters.cluster). `task` may then make one thing of
    # their encodings, in the worker, given the number of the task's first chunk: a TaskShare for each chunk,
    # which write_encoded() then takes in place of the chunk's own. None: each chunk's as it is.
    task: Callable[[list[Any], int], Sequence[TaskShare]] | None = None
    # What `chunk` makes of the records, made from their JSON texts instead (orjson's, which hold a
    # record exactly), for records a cache keeps as JSON, which need not then be parsed: None when it
    # cannot, and the records are then parsed and encoded as above.
    from_json: Callable[[list[bytes]], Any] | None = None

    def encode_one(self, record: dict[str, Any]) -> Any:
        return record if self.each is None else self.each(record)

    def encode_chunk(self, items: list[Any]) -> Any:
        return items if self.chunk is None else self.chunk(items)

    def __call__(self, records: list[dict[str, Any]]) -> Any:
        return self.encode_chunk([self.encode_one(record) for record in records])


class TaskShare:
    """A chunk's share of what a cluster task encoded for all its chunks (Encoder.task).

    The writer gets every chunk's share with the chunk's keep flags, even a
    chunk none of whose rows is kept: what the task encoded is written once
    the last chunk's flags are known.
    """


class WriterError(Exception):
    """Options a writer cannot honour: a usage error."""


class Writer(ABC):
    """Receives valid records in order, in batches, then `close()`.

    A writer writes either to one binary stream or, when `writes_directory()`
    says so for the options given, into a directory of its own files.

    The export runs `encoder()` in the worker processes, on each chunk of
    valid records, and hands what it makes to `write_encoded()` here. By
    default that is the records themselves, for `write_batch()`; a format
    whose encoding is the costly part (JSON, CSV, Parquet) does it there,
    on every core, instead of in the one process that writes.
    """

    text: ClassVar[bool] = True  # text formats may go to stdout
    needs_properties: ClassVar[bool] = True  # columns come from the schema's properties; JSON needs none

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        self.schema = schema
        self.options = options

    @classmethod
    def variant(cls, options: ExportOptions) -> type[Writer]:
        """The writer class to use for these options (a format may have a directory form)."""
        return cls

    @classmethod
    def writes_directory(cls, options: ExportOptions) -> bool:
        return False

    @classmethod  # noqa: B027 - a hook with nothing to do by default: most formats accept every option
    def check_options(cls, options: ExportOptions) -> None:
        """Raise WriterError for options that make no sense for this format."""

    @classmethod
    def encoder(cls, schema: SchemaInfo, options: ExportOptions) -> Encoder:
        return Encoder()

    def write_encoded(self, encoded: Any, keep: Sequence[bool]) -> int:
        """Write what encoder() made of a chunk, leaving out record i where keep[i] is false.

        Returns how many records were written.
        """
        records = kept(encoded, keep)
        self.write_batch(records)
        return len(records)

    @abstractmethod
    def write_batch(self, records: Sequence[dict[str, Any]]) -> None: ...

    def written(self, received: int) -> int:
        """How many of the records received made it into the output (RSS --limit keeps fewer)."""
        return received

    @abstractmethod
    def close(self) -> None: ...

    def abandon(self) -> None:  # noqa: B027 - most writers hold nothing the output's own discard does not free
        """Give up: release what the writer holds without finishing the output, which will be discarded."""


class EncodingWriter(Writer):
    """A writer whose costly part is its encoder(), which runs on every core."""

    @classmethod
    @abstractmethod
    def encoder(cls, schema: SchemaInfo, options: ExportOptions) -> Encoder: ...

    @abstractmethod
    def write_encoded(self, encoded: Any, keep: Sequence[bool]) -> int: ...

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        self.write_encoded(self._own_encoder(list(records)), [True] * len(records))

    @functools.cached_property
    def _own_encoder(self) -> Encoder:
        return self.encoder(self.schema, self.options)


class LineWriter(EncodingWriter):
    """A format of one line per record, each made whole by the encoder: the writer only writes them."""

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        assert not isinstance(target, Path)
        self.stream = target

    def write_encoded(self, encoded: list[bytes], keep: Sequence[bool]) -> int:
        lines = kept(encoded, keep)
        self.stream.writelines(lines)
        return len(lines)

    def close(self) -> None:
        self.stream.flush()


def kept(items: Sequence[Item], keep: Sequence[bool]) -> list[Item]:
    """The items whose keep flag is true: a chunk's records less those found invalid after encoding."""
    return [item for item, flag in zip(items, keep, strict=True) if flag]


def text_stream(target: BinaryIO | Path) -> io.TextIOWrapper:
    """UTF-8 text over a binary target; `newline=""` so nothing rewrites line endings."""
    assert not isinstance(target, Path)
    return io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=False)
