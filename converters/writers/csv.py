"""CSV (RFC 4180): one row per article, columns derived from the schema.

Nested objects flatten into `parent__child` columns (SQL-safe in every
warehouse); arrays and untyped values go into one cell each as JSON text, so
nothing is lost. Booleans are `true`/`false`; null and absent are empty cells.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, BinaryIO

from converters.layout import Field, schema_order
from converters.writers.base import ExportOptions, SchemaInfo, Writer, text_stream

SEPARATOR = "__"
# OWASP: a cell starting with one of these may be run as a formula by a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    path: tuple[str, ...]
    field: Field
    order: Callable[[Any], Any] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", schema_order(self.field))


def flat_columns(layout: Field, prefix: tuple[str, ...] = ()) -> list[Column]:
    """Scalar and array fields in schema order, objects flattened: provider -> provider__name, ..."""
    columns: list[Column] = []
    for field in layout.children:
        path = (*prefix, field.name)
        if field.kind == "object":
            columns.extend(flat_columns(field, path))
        else:
            columns.append(Column(SEPARATOR.join(path), path, field))
    return columns


def lookup(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def cell(value: Any, column: Column, escape_formulas: bool) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        if escape_formulas and value.startswith(FORMULA_STARTS):
            return "'" + value
        return value
    if isinstance(value, (list, dict)):
        return _json(column.order(value))
    return json.dumps(value)  # numbers, as JSON writes them


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class CsvWriter(Writer):
    @classmethod
    def variant(cls, options: ExportOptions) -> type[Writer]:
        if options.normalize:
            from converters.writers.csv_tables import CsvTablesWriter

            return CsvTablesWriter
        return cls

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        self.stream = text_stream(target)
        self.columns = flat_columns(schema.layout)
        self.rows = csv.writer(self.stream, lineterminator="\r\n")  # RFC 4180 line ends
        self.rows.writerow(column.name for column in self.columns)

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        escape = self.options.escape_formulas
        self.rows.writerows([cell(lookup(record, c.path), c, escape) for c in self.columns] for record in records)

    def close(self) -> None:
        self.stream.flush()
        self.stream.detach()
