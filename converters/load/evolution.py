"""An existing table against the schema: what may be added, and what stops the load.

The types compared are the engine's own spelling of both sides: the target
describes its table, and a temporary table made from the schema's DDL (see
sql_target), so `VARCHAR` and `text`, or `TIMESTAMP WITH TIME ZONE` and
`TIMESTAMPTZ`, are never told apart by a table of synonyms of our own.

- A property the table lacks, that the schema does not require: added as a
  nullable column (`ALTER TABLE ... ADD COLUMN`, in the load's transaction),
  its existing rows null; refused under `--on-schema-change fail`.
- A required property the table lacks: its existing rows would break the
  requirement, so only a rebuild (`--mode replace`) can add it.
- A column whose type changed, or that the schema no longer has: the rows
  would not fit, and dropping data is the user's call, never the loader's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

OnSchemaChange = Literal["evolve", "fail"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # as the engine describes it


class SchemaChangeError(Exception):
    """The table cannot take the schema's rows as it is: exit 2, naming the column and the fix."""


@dataclass(frozen=True, slots=True)
class Fixes:
    """The statements that would fix each kind of difference, in the target's SQL; None where it has none."""

    drop: Callable[[str], str] | None
    change_type: Callable[[str, str], str] | None
    add: Callable[[str, str], str] | None


def added_columns(
    table: str,
    found: Sequence[Column],
    expected: Sequence[Column],
    required: frozenset[str],
    on_change: OnSchemaChange,
    fixes: Fixes,
) -> list[Column]:
    """The columns to add to `table` (in schema order), or SchemaChangeError for a change that needs a person."""
    wanted = {column.name: column for column in expected}
    for column in found:
        new = wanted.get(column.name)
        if new is None:
            fix = _either(fixes.drop(column.name) if fixes.drop else None)
            raise SchemaChangeError(
                f"table {table} has the column {column.name} ({column.type}), which the schema no longer has: {fix}"
            )
        if new.type.casefold() != column.type.casefold():
            fix = _either(fixes.change_type(column.name, new.type) if fixes.change_type else None)
            raise SchemaChangeError(
                f"column {column.name} of table {table} is {column.type}, and the schema makes it {new.type}: {fix}"
            )
    have = {column.name for column in found}
    missing = [column for column in expected if column.name not in have]
    for column in missing:
        if column.name in required:
            raise SchemaChangeError(
                f"the schema adds the required property {column.name} ({column.type}), which the rows already in "
                f"table {table} lack: rebuild the table with --mode replace"
            )
        if on_change == "fail":
            raise SchemaChangeError(
                f"the schema adds the column {column.name} ({column.type}) to table {table}, and "
                f"--on-schema-change is fail: {_either(fixes.add(column.name, column.type) if fixes.add else None)}, "
                "or let the load add it with --on-schema-change evolve"
            )
    return missing


def _either(statement: str | None) -> str:
    rebuild = "rebuild the table with --mode replace"
    return f"run {statement}, or {rebuild}" if statement else rebuild
