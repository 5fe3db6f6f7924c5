"""Paths -> a warehouse table, idempotently: `articles load PATH... --into TARGET`.

The valid articles are first exported to a temporary Parquet file, with the
same validation, rejects and `--on-invalid` rules as `articles export`; only
when that succeeds is the database touched, and then in one transaction:

1. create the table from the schema's DDL, if it does not exist;
2. stage the Parquet file in a temporary table;
3. upsert by webUrl: new keys are inserted, changed rows replaced, equal rows
   left alone (so re-running a load changes nothing, and counts say so).

A failure or a crash before the commit leaves the table as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from converters.check import CheckOptions
from converters.export import ExportSummary, OnInvalid, export
from converters.findings import FileResult
from converters.layout import KEY_FIELD, Field, article_layout
from converters.output import refuse_inputs_as_outputs
from converters.registry import import_named
from converters.report.base import plural
from converters.schema import load_schema
from converters.tables import DEFAULT_TABLE
from converters.tables.sql import table_parts


class LoadError(Exception):
    """The target cannot be loaded: a missing driver, a bad address, a table that does not fit."""


@dataclass(frozen=True, slots=True)
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class Loader(Protocol):
    def __call__(self, target: str, staged: Path, table: str, layout: Field) -> Counts: ...


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    extra: str  # the pip extra that installs its driver
    location: str  # "module:function"
    local: bool  # the target is a file on this machine

    def load(self) -> Loader:
        loader: Loader = import_named(self.location)
        return loader


BACKENDS: dict[str, Backend] = {
    "duckdb": Backend("duckdb", "duckdb", "converters.load.duckdb:load_parquet", local=True),
    "postgres": Backend("postgres", "postgres", "converters.load.postgres:load_parquet", local=False),
}
# How a target names its kind. `.db` is not here: SQLite and DuckDB both use it.
_DUCKDB_SUFFIXES = (".duckdb", ".ddb")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def backend_for(target: str) -> Backend:
    """`postgresql://...` is PostgreSQL, `NAME.duckdb` a DuckDB database file; LoadError for anything else."""
    if target.startswith(_POSTGRES_SCHEMES):
        return BACKENDS["postgres"]
    if target.lower().endswith(_DUCKDB_SUFFIXES) and "://" not in target:
        return BACKENDS["duckdb"]
    raise LoadError(
        f"cannot tell what kind of database {target!r} is: give a DuckDB file ending in "
        f"{' or '.join(_DUCKDB_SUFFIXES)}, or a postgresql:// URL"
    )


@dataclass(slots=True)
class LoadSummary:
    export: ExportSummary = field(default_factory=ExportSummary)
    counts: Counts = field(default_factory=Counts)
    committed: bool = False

    @property
    def seconds(self) -> float:
        return self.export.seconds  # staging starts the run, and the time runs on through the upsert


def load(
    paths: Sequence[str],
    target: str,
    *,
    table: str = DEFAULT_TABLE,
    check: CheckOptions | None = None,
    on_invalid: OnInvalid = "fail",
    rejects: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    overwrite: bool = False,
) -> LoadSummary:
    """Load every valid article under `paths` into `table` at `target`. Raises LoadError,
    and what `export` raises, for usage problems; the table is untouched unless committed."""
    check = check or CheckOptions()
    if check.allow_duplicate_urls:
        raise LoadError(f"a load is keyed by {KEY_FIELD}: duplicates cannot be allowed")
    backend = backend_for(target)
    table_parts(table)  # a name that is not NAME or SCHEMA.NAME: refused before anything is read
    refuse_inputs_as_outputs([target] if backend.local else [], paths)
    try:
        loader = backend.load()
    except ImportError as error:
        raise LoadError(
            f"the {backend.name} driver is not installed: pip install 'articles[{backend.extra}]' "
            f"(from a checkout: pip install '.[{backend.extra}]'); {error}"
        ) from error
    layout = article_layout(load_schema(check.schema_path))
    summary = LoadSummary()
    with tempfile.TemporaryDirectory(prefix="articles-load-") as folder:
        staged = Path(folder) / "staged.parquet"
        summary.export = export(
            paths, os.fspath(staged), "parquet", check=check, on_invalid=on_invalid, rejects=rejects,
            on_result=on_result, overwrite=overwrite,
        )  # fmt: skip
        if not summary.export.committed:
            return summary
        summary.counts = loader(target, staged, table, layout)
        summary.committed = True
    return summary


def check_columns(table: str, found: list[str], expected: list[str]) -> None:
    """An existing table made by hand, or by an older schema, must be migrated first: say so, plainly."""
    if found != expected:
        raise LoadError(
            f"table {table} has the columns {', '.join(found)}, but the schema has "
            f"{', '.join(expected)}: migrate the table, or load into another --table"
        )


def shown_target(target: str) -> str:
    """The target with any password hidden, fit for a log."""
    parts = urlsplit(target)
    if parts.password is None:
        return target
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def load_summary_line(summary: LoadSummary, target: str, table: str) -> str:
    target = shown_target(target)
    checked = summary.export.checked
    if not summary.committed:
        reason = "stopped at the error limit" if checked.stopped else f"{plural(checked.invalid, 'file')} invalid"
        return f"nothing loaded: {reason}; table {table} in {target} is unchanged"
    counts = summary.counts
    return (
        f"loaded {table} in {target}: {counts.inserted:,} inserted, {counts.updated:,} updated, "
        f"{counts.unchanged:,} unchanged, {summary.export.rejected:,} rejected; "
        f"{plural(checked.checked, 'file')} in {summary.seconds:.2f} s"
    )


__all__ = ["BACKENDS", "Counts", "LoadError", "LoadSummary", "backend_for", "load", "load_summary_line"]
