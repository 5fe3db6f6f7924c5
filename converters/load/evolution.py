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
_REBUILD = "rebuild the table with --mode replace"


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
    """The columns to add to `table` (in schema order), or SchemaChangeError naming every change that needs a
    person: one load tells them all, rather than one per run."""
    wanted = {column.name: column for column in expected}
    problems: list[str] = []
    for column in found:
        new = wanted.get(column.name)
        if new is None:
            fix = _either(fixes.drop(column.name) if fixes.drop else None)
            problems.append(
                f"table {table} has the column {column.name} ({column.type}), which the schema no longer has: {fix}"
            )
        elif new.type.casefold() != column.type.casefold():
            fix = _either(fixes.change_type(column.name, new.type) if fixes.change_type else None)
            problems.append(
                f"column {column.name} of table {table} is {column.type}, and the schema makes it {new.type}: {fix}"
            )
    have = {column.name for column in found}
    missing = [column for column in expected if column.name not in have]
    problems.extend(
        f"the schema adds the required property {column.name} ({column.type}), which the rows already in "
        f"table {table} lack: {_REBUILD}"
        for column in missing
        if column.name in required
    )
    optional = [column for column in missing if column.name not in required]
    if on_change == "fail" and optional:
        problems.append(_refused_additions(table, optional, fixes))
    if len(problems) == 1:
        raise SchemaChangeError(problems[0])
    if problems:  # numbered: a fix may itself be several statements, each ending in `;`
        listed = " ".join(f"({number}) {problem};" for number, problem in enumerate(problems, 1))
        raise SchemaChangeError(f"{len(problems)} changes the table cannot follow: {listed}".removesuffix(";"))
    return missing


def _refused_additions(table: str, missing: Sequence[Column], fixes: Fixes) -> str:
    columns = ", ".join(f"{column.name} ({column.type})" for column in missing)
    statements = [fixes.add(column.name, column.type) for column in missing] if fixes.add else []
    run = f"run {'; '.join(statements)}, " if statements else ""
    the_columns, them = ("the column", "it") if len(missing) == 1 else ("the columns", "them")
    return (
        f"the schema adds {the_columns} {columns} to table {table}, and --on-schema-change is fail: {run}"
        f"{_REBUILD}, or let the load add {them} with --on-schema-change evolve"
    )


def _either(statement: str | None) -> str:
    return f"run {statement}, or {_REBUILD}" if statement else _REBUILD
