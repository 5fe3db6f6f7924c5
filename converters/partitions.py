"""Hive-partitioned datasets: which fields can partition, and how a value becomes a folder and back.

`--partition-by FIELD` puts each row in `FIELD=VALUE/`, with VALUE URI-encoded
as Hive does and `__HIVE_DEFAULT_PARTITION__` for a null. The column lives in
the folder names only, so a reader gets it back from the path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote

from converters.layout import Field, LayoutError
from converters.timestamps import parse_timestamp

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
DERIVED_PARTITIONS = {"published_date": "the UTC date of publishedDateTime"}


def _boolean(text: str) -> bool:
    return {"true": True, "false": False}[text]


# The kinds of field that can partition, and how a folder's text becomes the value again.
_PARTITION_KINDS: dict[str, Callable[[str], Any]] = {"string": str, "integer": int, "boolean": _boolean}


class PartitionError(LayoutError):
    """A field that cannot partition a dataset: a usage error."""


def partition_key(layout: Field, column: str) -> PartitionKey:
    """What puts a record in its partition; PartitionError for a column that cannot partition."""
    if column == "published_date":
        if layout.child("publishedDateTime") is None:
            raise PartitionError("published_date is derived from publishedDateTime, which this schema does not have")
        return PartitionKey(column, derived=True)
    field = layout.child(column)
    if field is None or field.kind not in _PARTITION_KINDS:
        choices = [
            *DERIVED_PARTITIONS,
            *(f.name for f in layout.children if f.kind in _PARTITION_KINDS),
        ]
        raise PartitionError(f"cannot partition by {column!r}: choose one of {', '.join(choices)}")
    return PartitionKey(column, derived=False)


@dataclass(frozen=True, slots=True)
class PartitionKey:
    """A record -> its partition directory's value, URI-encoded as Hive does."""

    column: str
    derived: bool  # published_date, from publishedDateTime

    def __call__(self, record: dict[str, Any]) -> str:
        if self.derived:
            return parse_timestamp(record["publishedDateTime"]).date().isoformat()
        value = record.get(self.column)
        if value is None:
            return HIVE_NULL
        if isinstance(value, bool):
            return "true" if value else "false"
        return quote(str(value), safe="")


def without_partition_column(layout: Field, key: PartitionKey) -> Field:
    """The columns a part file holds: all but the partition column, which lives in the folder names."""
    if key.derived:
        return layout
    return replace(layout, children=tuple(f for f in layout.children if f.name != key.column))


def partition_values(path: str, layout: Field, columns: list[str]) -> dict[str, Any]:
    """The top-level fields a hive-partitioned dataset keeps in its directory names (`category=news/`).

    A folder `NAME=VALUE` on the file's path gives NAME its value when NAME is
    a top-level string, integer or boolean field that the file has no column
    for; VALUE is URI-decoded, and `__HIVE_DEFAULT_PARTITION__` is null (absent).
    """
    values: dict[str, Any] = {}
    for folder in os.path.dirname(path).replace(os.sep, "/").split("/"):
        name, equals, text = folder.partition("=")
        field = layout.child(unquote(name)) if equals else None
        if field is None or field.kind not in _PARTITION_KINDS or field.name in columns:
            continue
        values.pop(field.name, None)  # the folder nearest the file decides
        if unquote(text) != HIVE_NULL:
            try:
                values[field.name] = _PARTITION_KINDS[field.kind](unquote(text))
            except (ValueError, KeyError) as error:
                raise ValueError(f"folder {folder!r} is not a {field.name!r} value of type {field.kind}") from error
    return values
