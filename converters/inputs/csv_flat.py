"""CSV (.csv): the flat form `--to csv` writes, one article per row, read back into the documents it came from.

The header names the columns, in any order: each must be one the schema's
layout gives the flat CSV (`provider__name`, ...), or the file is refused
with one error at the header naming the first column that is not, since no
row could be read right. A column the header leaves out is a field every
row lacks, so the schema's `required` reports it. The tables `--normalize`
writes (`articles__topics.csv`, and `articles.csv` beside them with its
`_id`) are not this form: they are refused by that rule.

Each cell is the inverse of the writer's: an empty unquoted cell is a null
and `""` an empty string. A null comes back as an absent key, because CSV
writes null and absent alike (as from Parquet). `parent__child` columns fold
back into objects, and an object whose columns are all null comes back
absent, as the writer writes an absent object. Integer and number cells must
be JSON numbers, boolean cells `true` or `false`, and array cells JSON text;
date-times stay the text they were written as. A cell that is not a value of
its column's type makes its row one error naming the column. Untyped
(`json`) columns read JSON text back, and keep any other text as a string:
the writer writes a string there as it is, so a string that reads as JSON
(`5`, `true`) comes back as that value. A CSV written with
--escape-formulas keeps its leading `'`: the file holds that text.

Rows are read one at a time with csv.reader, so memory holds one row, and a
row's "line" is the line it starts on, even after cells that span lines. A
row with more or fewer cells than the header, invalid UTF-8 or broken
quoting is an error of its own, and reading goes on; a row over the size
limit ends the file, as where it ends cannot be told. Blank lines are
skipped. Rejected rows go to the rejects file as JSON, like Parquet rows;
a row that could not be read at all keeps its CSV text.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from converters.inputs import Record, StrictDecoder
from converters.layout import Field, Kind
from converters.limits import Limits
from converters.writers.csv import flat_columns

_BOM = b"\xef\xbb\xbf"
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False}


class _TooLarge(Exception):
    """A row over the size limit: the file cannot be read past it."""


class _BadHeader(ValueError):
    pass


class _BadCell(ValueError):
    pass


class _NotJson(_BadCell):
    pass


def read_records(path: str, layout: Field, limits: Limits) -> Iterator[Record]:
    # csv.reader refuses a cell over a process-wide limit (128 KiB by default); the
    # reader's own size limit, over a whole row, is the one to apply.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_file_size))
    with open(path, "rb") as stream:
        lines = _Lines(stream, limits.max_file_size)
        try:
            yield from _records(path, _rows(lines), layout)
        except _TooLarge as error:
            yield Record(path, lines.row_line, b"", problem=("size", str(error)))


def _records(path: str, rows: Iterator[_Row], layout: Field) -> Iterator[Record]:
    header = next(rows, None)
    if header is None:
        yield Record(path, 1, b"", problem=("empty", "file is empty"))
        return
    if header.problem is not None:
        yield Record(path, header.line, header.raw(), problem=header.problem)
        return
    try:
        columns = _columns(header.cells, layout)
    except _BadHeader as error:
        yield Record(path, header.line, header.raw(), problem=("csv", str(error)))
        return
    for row in rows:
        yield _record(path, row, columns, len(header.cells))


def _record(path: str, row: _Row, columns: list[_Column], width: int) -> Record:
    if row.problem is not None:
        return Record(path, row.line, row.raw(), problem=row.problem)
    try:
        return Record(path, row.line, b"", record=_document(row, columns, width))
    except _BadCell as error:
        return Record(path, row.line, row.raw(), problem=("csv", str(error)))


# -- rows ---------------------------------------------------------------------------------


class _Lines:
    """The file's lines as text, for csv.reader, remembering those of the row it is reading.

    Lines end at `\\n` alone, as in JSON and JSON Lines, so that every input
    counts lines alike. Invalid UTF-8 is decoded with surrogateescape and noted
    against the row, so csv.reader keeps its place in the file.
    """

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream, self.limit = stream, limit
        self.number = 0  # lines read so far
        self.row_line = 1
        self.row_size = 0
        self.row_text: list[str] = []
        self.row_problem: tuple[str, str] | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.stream.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if self.number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        self.row_size += len(line)
        if self.row_size > self.limit:
            raise _TooLarge(
                f"row is larger than the {self.limit:,}-byte limit (see --max-file-size); "
                "the rest of the file is not read"
            )
        text = self._decoded(line)
        self.row_text.append(text)
        return text

    def _decoded(self, line: bytes) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as error:
            if self.row_problem is None:
                self.row_problem = ("encoding", f"byte 0x{line[error.start]:02x} is not valid UTF-8")
            return line.decode("utf-8", "surrogateescape")

    def start_row(self) -> None:
        self.row_line = self.number + 1
        self.row_size = 0
        self.row_text = []
        self.row_problem = None


@dataclass(frozen=True, slots=True)
class _Row:
    line: int  # where the row starts
    cells: list[str]
    text: list[str]  # its lines, as read
    problem: tuple[str, str] | None  # (keyword, message) when the row cannot be read

    def raw(self) -> bytes:
        return "".join(self.text).encode("utf-8", "surrogateescape")


def _rows(lines: _Lines) -> Iterator[_Row]:
    """Every row but blank lines; one csv.reader goes on past a row with broken quoting."""
    reader = csv.reader(lines, strict=True)  # strict: a cell's text follows from its value (see _null_cells)
    while True:
        lines.start_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield _Row(lines.row_line, [], lines.row_text, ("csv", f"not valid CSV: {error}"))
            continue
        if cells:
            yield _Row(lines.row_line, cells, lines.row_text, lines.row_problem)


# -- the header -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    """Where a column's cells go in the document, and how they become values."""

    index: int
    name: str
    path: tuple[str, ...]
    convert: Callable[[str], Any]


def _columns(header: list[str], layout: Field) -> list[_Column]:
    """How each column of the header is read; _BadHeader for a name the layout does not have, or a repeat."""
    known = {column.name: column for column in flat_columns(layout)}
    seen: set[str] = set()
    columns = []
    for index, name in enumerate(header):
        column = known.get(name)
        if column is None:
            raise _BadHeader(_unknown_column(name, list(known)))
        if name in seen:
            raise _BadHeader(f"column {name!r} appears twice in the header")
        seen.add(name)
        columns.append(_Column(index, name, column.path, _CONVERTERS[column.field.kind]))
    return columns


def _unknown_column(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"column {name!r} is not a column of the schema's flat CSV{hint}; a .csv input must be a CSV "
        "that `articles export --to csv` writes, not a table of --normalize"
    )


# -- cells ----------------------------------------------------------------------------------


def _document(row: _Row, columns: list[_Column], width: int) -> dict[str, Any]:
    if len(row.cells) != width:
        raise _BadCell(f"row has {len(row.cells)} cells where the header has {width}")
    nulls = _null_cells(row)
    document: dict[str, Any] = {}
    for column in columns:
        if column.index in nulls:
            continue  # an object is made only when one of its columns has a value
        try:
            value = column.convert(row.cells[column.index])
        except _BadCell as error:
            raise _BadCell(f"column {column.name!r}: {error}") from error
        _put(document, column.path, value)
    return document


def _null_cells(row: _Row) -> set[int]:
    """Which cells are nulls: empty and unquoted, where an empty string is `""`.

    csv.reader gives '' for both, and Python 3.11's has no QUOTE_NOTNULL (new
    in 3.12) to tell them apart. Under strict quoting a cell's text follows
    from its value: a quoted cell is its value with each `"` doubled, between
    quotes, and any other is its value. So stepping through the row's text by
    those lengths finds which empty cells were quoted.
    """
    if "" not in row.cells:
        return set()
    text = "".join(row.text)
    nulls, offset = set(), 0
    for index, cell in enumerate(row.cells):
        if text.startswith('"', offset):
            offset += len(cell) + cell.count('"') + 3  # two quotes, the doubled ones, the comma
        else:
            if not cell:
                nulls.add(index)
            offset += len(cell) + 1
    return nulls


def _put(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = document
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def _text(cell: str) -> str:
    return cell


def _number(cell: str) -> int | float:
    """A JSON number, read as the JSON input reads it: the schema then judges integer or not."""
    if not _JSON_NUMBER.fullmatch(cell):
        raise _BadCell(f"{_shown(cell)} is not a number")
    try:
        value: int | float = json.loads(cell)
    except ValueError as error:  # an integer of more digits than Python converts
        raise _BadCell(f"{_shown(cell)} is not a number Python can read: {error}") from error
    if not math.isfinite(value):
        raise _BadCell(f"{_shown(cell)} is not a finite number")
    return value


def _boolean(cell: str) -> bool:
    try:
        return _BOOLEANS[cell]
    except KeyError:
        raise _BadCell(f"{_shown(cell)} is not true or false") from None


def _json(cell: str) -> Any:
    decoder = StrictDecoder()
    try:
        value = decoder.decode(cell)
    except json.JSONDecodeError as error:
        raise _NotJson(f"not valid JSON: {error.msg} at character {error.pos + 1}") from error
    except RecursionError as error:
        raise _BadCell("JSON nests too deeply") from error
    if decoder.problem is not None:
        raise _BadCell(decoder.problem[1])
    return value


def _json_or_text(cell: str) -> Any:
    try:
        return _json(cell)
    except _NotJson:
        return cell  # the writer writes a string as it is


def _shown(cell: str) -> str:
    return repr(cell if len(cell) <= 40 else cell[:37] + "...")


_CONVERTERS: dict[Kind, Callable[[str], Any]] = {
    "string": _text,
    "datetime": _text,
    "integer": _number,
    "number": _number,
    "boolean": _boolean,
    "array": _json,
    "json": _json_or_text,
}
