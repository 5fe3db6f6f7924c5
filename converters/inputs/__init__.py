"""Data files as input: each record of a .json, .jsonl, .parquet or .csv file is one document.

`articles export` reads its own outputs back (CSV in its flat form, not the
tables of --normalize), so Parquet -> RSS and CSV -> JSON Lines are one
command each, validated exactly like front matter. A file is read as records
when its name ends in one of INPUTS' extensions; every other file is an
article file. A reader runs in the main process and yields one Record per
document, in file order; the workers parse and validate them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from converters.findings import Position
from converters.layout import Field
from converters.limits import Limits
from converters.reader import Article, ReaderError
from converters.registry import import_named


@dataclass(frozen=True, slots=True)
class Record:
    """One document from a data file, as it travels to a worker (so: picklable).

    `line` is where the record starts: its line in JSON and JSON Lines, the
    line its row starts on in CSV, its 1-based row number in Parquet.
    `record` is None when `raw` is JSON text still to be parsed, which the
    workers do in parallel. `problem` is (keyword, message) when the reader
    could not produce the record at all.
    """

    file: str
    line: int
    raw: bytes
    record: dict[str, Any] | None = None
    problem: tuple[str, str] | None = None
    column: int = 1  # where the record starts in its line, or where the reader's problem is


class RecordReader(Protocol):
    def __call__(self, path: str, layout: Field, limits: Limits) -> Iterator[Record]: ...


@dataclass(frozen=True, slots=True)
class InputFormat:
    name: str
    extensions: tuple[str, ...]
    location: str  # "module:function", a RecordReader

    def load(self) -> RecordReader:
        reader: RecordReader = import_named(self.location)
        return reader


INPUTS: dict[str, InputFormat] = {
    f.name: f
    for f in (
        InputFormat("json", (".json",), "converters.inputs.json_array:read_records"),
        InputFormat("jsonl", (".jsonl", ".ndjson"), "converters.inputs.json_lines:read_records"),
        InputFormat("parquet", (".parquet", ".pq"), "converters.inputs.parquet:read_records"),
        InputFormat("csv", (".csv",), "converters.inputs.csv_flat:read_records"),
    )
}


_EXTENSIONS = tuple(extension for f in INPUTS.values() for extension in f.extensions)
_LONGEST = max(len(extension) for extension in _EXTENSIONS)


def input_format(path: str) -> InputFormat | None:
    """The data format a file's name ends in, or None for an article file."""
    lowered = path.lower()
    if not lowered.endswith(_EXTENSIONS):  # an article file, as nearly every one is: asked once, not per format
        return None
    return next((f for f in INPUTS.values() if lowered.endswith(f.extensions)), None)


def data_file_indexes(paths: Iterable[str]) -> list[int]:
    """The indexes of the paths whose input_format is not None: a load asks it of every file of the corpus, and
    a call each, with each whole path lowered, costs more (docs/performance.md)."""
    return [at for at, path in enumerate(paths) if path[-_LONGEST:].lower().endswith(_EXTENSIONS)]


def read_records(path: str, layout: Field, limits: Limits) -> Iterator[Record]:
    """Every record in a data file; a file that cannot be opened at all is one Record with a problem."""
    data_format = input_format(path)
    assert data_format is not None, f"{path} is not a data file"
    try:
        yield from data_format.load()(path, layout, limits)
    except OSError as error:
        yield Record(path, 1, b"", problem=("read", f"cannot read file: {error.strerror or error}"))


def as_article(record: Record) -> Article:
    """The worker's half: parse the record if needed, and locate everything at its first line.

    Raises ReaderError for a record that is not one JSON object.
    """
    position = Position(record.line, record.column)
    if record.problem is not None:
        raise ReaderError(*record.problem, position=position)
    value = record.record if record.record is not None else parse_json(record.raw, position)
    if not isinstance(value, dict):
        raise ReaderError("not-mapping", f"a record must be a JSON object, not {_json_kind(value)}", position)
    return Article(value, {(): position}, {})


def parse_json(raw: bytes, position: Position) -> Any:
    """JSON text -> value, refusing what the front matter reader refuses: repeated keys, NaN."""
    decoder = StrictDecoder()
    try:
        value = decoder.decode(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ReaderError("encoding", f"byte 0x{raw[error.start]:02x} is not valid UTF-8", position) from error
    except json.JSONDecodeError as error:
        where = Position(position.line + error.lineno - 1, error.colno)
        raise ReaderError("json", f"not valid JSON: {error.msg}", where) from error
    except RecursionError as error:
        raise ReaderError("depth", "JSON nests too deeply", position) from error
    if decoder.problem is not None:
        raise ReaderError(*decoder.problem, position=position)
    return value


class StrictDecoder(json.JSONDecoder):
    """Notes the first repeated key or NaN/Infinity as (keyword, message), instead of failing.

    Noting rather than raising lets a streaming reader step past the element
    and go on with the next one.
    """

    def __init__(self) -> None:
        super().__init__(object_pairs_hook=self._pairs, parse_constant=self._constant)
        self.problem: tuple[str, str] | None = None

    def _pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs) and self.problem is None:
            keys = [key for key, _ in pairs]
            repeated = next(key for key in keys if keys.count(key) > 1)
            self.problem = ("duplicate-key", f"key {repeated!r} appears twice in one object")
        return result

    def _constant(self, text: str) -> None:
        if self.problem is None:
            self.problem = ("json", f"{text} is not a JSON number")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


__all__ = [
    "INPUTS",
    "InputFormat",
    "Record",
    "StrictDecoder",
    "as_article",
    "input_format",
    "parse_json",
    "read_records",
]
