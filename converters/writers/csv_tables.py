"""CSV as related tables (`--normalize DIR`), the way dlt lays out nested data.

`articles.csv` holds one row per article; every array becomes a child table
named by its path (`articles__topics.csv`, `articles__related__images.csv`)
with `_id`, `_parent_id` and `_list_idx`, so the tables join back exactly.
Keys are stable: an article's `_id` is a digest of its webUrl (its key), a
child's is a digest of its parent's `_id`, its array and its position.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from converters.layout import Field
from converters.writers.base import Encoder, EncodingWriter, ExportOptions, SchemaInfo, kept
from converters.writers.csv import SEPARATOR, Column, cell, csv_line, lookup

ROOT_TABLE = "articles"
KEYS = ("_id", "_parent_id", "_list_idx")


@dataclass(slots=True)
class Table:
    name: str
    columns: list[Column]  # scalar, object-flattened and untyped fields of one row
    arrays: list[tuple[tuple[str, ...], Table]] = field(default_factory=list)  # path in the row -> child table
    scalar_items: bool = False  # rows are array items with one `value` column


def plan_tables(layout: Field, name: str = ROOT_TABLE) -> Table:
    """The table for rows shaped like `layout`, with a child table per array inside it."""
    table = Table(name, [])
    _collect(layout, (), table)
    return table


def _collect(layout: Field, prefix: tuple[str, ...], table: Table) -> None:
    for child in layout.children:
        path = (*prefix, child.name)
        if child.kind == "object":
            _collect(child, path, table)
        elif child.kind == "array" and child.items is not None:
            child_name = table.name + SEPARATOR + SEPARATOR.join(path)
            if child.items.kind == "object":
                table.arrays.append((path, plan_tables(child.items, child_name)))
            else:
                table.arrays.append((path, Table(child_name, [Column("value", (), child.items)], scalar_items=True)))
        else:
            table.columns.append(Column(SEPARATOR.join(path), path, child))


def all_tables(table: Table) -> list[Table]:
    return [table, *(t for _, child in table.arrays for t in all_tables(child))]


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class TableLines:
    """The --normalize encoder: a record -> its CSV lines in each table, made in the worker processes.

    Gives one bytes per table, in all_tables() order, empty for a table the
    record has no rows in.
    """

    root: Table
    escape_formulas: bool
    positions: dict[str, int] = field(init=False, repr=False, compare=False)  # table name -> place in all_tables()

    def __post_init__(self) -> None:
        positions = {table.name: i for i, table in enumerate(all_tables(self.root))}
        object.__setattr__(self, "positions", positions)

    def __call__(self, record: dict[str, Any]) -> tuple[bytes, ...]:
        url = record.get("webUrl")
        key = _digest("webUrl", url) if isinstance(url, str) else _digest("record", json.dumps(record))
        lines: list[list[bytes]] = [[] for _ in self.positions]
        self._rows(self.root, record, (key,), lines)
        return tuple(b"".join(table_lines) for table_lines in lines)

    def _rows(self, table: Table, row: Any, keys: tuple[str, ...], lines: list[list[bytes]]) -> None:
        escape = self.escape_formulas
        if table.scalar_items:
            values = [cell(row, table.columns[0], escape)]  # cell() puts nested objects in schema order
        else:
            values = [cell(lookup(row, c.path), c, escape) for c in table.columns]
        lines[self.positions[table.name]].append(csv_line([*keys, *values]))
        if table.scalar_items:
            return
        for path, child in table.arrays:
            items = lookup(row, path)
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                child_id = _digest(keys[0], child.name, str(index))
                self._rows(child, item, (child_id, keys[0], str(index)), lines)


class CsvTablesWriter(EncodingWriter):
    @classmethod
    def writes_directory(cls, options: ExportOptions) -> bool:
        return True

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        assert isinstance(target, Path)
        root = plan_tables(schema.layout)
        self.files: list[BinaryIO] = []
        for table in all_tables(root):  # every table exists, even when empty
            stream = open(target / f"{table.name}.csv", "wb")  # noqa: SIM115 - closed in close()
            self.files.append(stream)
            key_columns = KEYS if table is not root else KEYS[:1]
            stream.write(csv_line([*key_columns, *(c.name for c in table.columns)]))

    @classmethod
    def encoder(cls, schema: SchemaInfo, options: ExportOptions) -> Encoder:
        return Encoder(TableLines(plan_tables(schema.layout), options.escape_formulas))

    def write_encoded(self, encoded: list[tuple[bytes, ...]], keep: Sequence[bool]) -> int:
        records = kept(encoded, keep)
        for position, stream in enumerate(self.files):
            stream.write(b"".join(lines[position] for lines in records))
        return len(records)

    def close(self) -> None:
        for stream in self.files:
            stream.close()

    def abandon(self) -> None:
        self.close()  # the directory is discarded; only the open files need letting go
