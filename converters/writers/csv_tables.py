"""CSV as related tables (`--normalize DIR`), the way dlt lays out nested data.

`articles.csv` holds one row per article; every array becomes a child table
named by its path (`articles__topics.csv`, `articles__related__images.csv`)
with `_id`, `_parent_id` and `_list_idx`, so the tables join back exactly.
Keys are stable: an article's `_id` is a digest of its webUrl (its key), a
child's is a digest of its parent's `_id`, its array and its position.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from converters.layout import Field
from converters.writers.base import ExportOptions, SchemaInfo, Writer
from converters.writers.csv import SEPARATOR, Column, cell, lookup

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


class CsvTablesWriter(Writer):
    @classmethod
    def writes_directory(cls, options: ExportOptions) -> bool:
        return True

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        assert isinstance(target, Path)
        self.root = plan_tables(schema.layout)
        self.files: dict[str, IO[str]] = {}
        self.rows: dict[str, Any] = {}
        for table in all_tables(self.root):  # every table exists, even when empty
            stream = open(target / f"{table.name}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
            self.files[table.name] = stream
            self.rows[table.name] = csv.writer(stream, lineterminator="\r\n")
            key_columns = KEYS if table is not self.root else KEYS[:1]
            self.rows[table.name].writerow([*key_columns, *(c.name for c in table.columns)])

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        for record in records:
            url = record.get("webUrl")
            key = _digest("webUrl", url) if isinstance(url, str) else _digest("record", json.dumps(record))
            self._write_row(self.root, record, (key,))

    def _write_row(self, table: Table, row: Any, keys: tuple[Any, ...]) -> None:
        escape = self.options.escape_formulas
        if table.scalar_items:
            values = [cell(row, table.columns[0], escape)]  # cell() puts nested objects in schema order
        else:
            values = [cell(lookup(row, c.path), c, escape) for c in table.columns]
        self.rows[table.name].writerow([*keys, *values])
        if table.scalar_items:
            return
        for path, child in table.arrays:
            items = lookup(row, path)
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                child_id = _digest(keys[0], child.name, str(index))
                self._write_row(child, item, (child_id, keys[0], index))

    def close(self) -> None:
        for stream in self.files.values():
            stream.close()
