"""Paths -> a warehouse table that follows the corpus: `articles load PATH... --into TARGET`.

1. The corpus is listed.
2. The target is described: the table's columns against the schema's
   (converters/load/evolution.py), and its file ledger (ledger.py), read a
   batch at a time and compared with the listing: only files that are new
   or changed are read (`--mode replace`: every file).
3. Those are checked and exported to a temporary Parquet file, with the same
   validation, rejects and `--on-invalid` rules as `articles export`; their
   webUrls are checked against the unchanged files' too.
4. Only when that succeeds is the table written, in one transaction
   (sql_target.py): rows of webUrls no longer in the corpus deleted, the rows
   read upserted by webUrl, the ledger updated.

A failure or a crash before the commit leaves the table and ledger as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from converters.check import CheckOptions
from converters.discover import is_uri
from converters.export import ExportSummary, OnInvalid, check_rejects, export
from converters.findings import FileResult
from converters.layout import KEY_FIELD, Field, article_layout, required_fields
from converters.load.errors import LoadConflict, LoadError, LoadFailed
from converters.load.evolution import Column, OnSchemaChange, SchemaChangeError
from converters.load.ledger import (
    LEDGER_TABLE,
    LedgerComparison,
    LedgerUrls,
    ledger_rules,
    list_corpus,
    plan_load,
)
from converters.load.sql_target import RESERVED_PREFIX, Applied, Change, Mode, TableState
from converters.output import AtomicOutput, atomic_output, refuse_inputs_as_outputs
from converters.registry import import_named
from converters.report.base import plural
from converters.schema import load_schema
from converters.tables import DEFAULT_TABLE
from converters.tables.sql import table_parts
from converters.writers import ExportOptions

MODES: tuple[Mode, ...] = ("merge", "append", "replace")


@dataclass(slots=True)
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # read, and equal to the row the table had
    deleted: int = 0
    skipped: int = 0  # unchanged files, not read


class Target(Protocol):
    """One load's database (sql_target.SqlTarget is every SQL engine's)."""

    staged_row_group: int  # rows per row group of the staged Parquet file the target reads

    def describe(self, ledger: LedgerComparison | None) -> TableState: ...

    def planned_columns(
        self, state: TableState, required: frozenset[str], on_change: OnSchemaChange
    ) -> list[Column]: ...

    def apply(self, change: Change) -> Applied: ...


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    extra: str | None  # the pip extra that installs its driver; None: the standard library has it
    location: str  # "module:class", taking (target, table, ledger table, layout)
    local: bool  # the target is a file on this machine

    def target(self, target: str, table: str, ledger: str, layout: Field) -> Target:
        kind: Callable[[str, str, str, Field], Target] = import_named(self.location)
        return kind(target, table, ledger, layout)


BACKENDS: dict[str, Backend] = {
    "duckdb": Backend("duckdb", "duckdb", "converters.load.duckdb:DuckDbTarget", local=True),
    "postgres": Backend("postgres", "postgres", "converters.load.postgres:PostgresTarget", local=False),
    "sqlite": Backend("sqlite", None, "converters.load.sqlite:SqliteTarget", local=True),
    "delta": Backend("delta", "delta", "converters.load.delta:DeltaTarget", local=True),
}
# How a target names its kind. `.db` is not here: SQLite and DuckDB both use it.
_DUCKDB_SUFFIXES = (".duckdb", ".ddb")
_SQLITE_SUFFIXES = (".sqlite", ".sqlite3")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"
DELTA_SCHEME = "delta:"


def backend_for(target: str) -> Backend:
    """`postgresql://...` is PostgreSQL, `NAME.duckdb` a DuckDB file, `NAME.sqlite` or `sqlite:///PATH` an
    SQLite file; LoadError for anything else."""
    if target.startswith(_POSTGRES_SCHEMES):
        return BACKENDS["postgres"]
    if target.startswith(DELTA_SCHEME) and len(target) > len(DELTA_SCHEME):
        return BACKENDS["delta"]
    if target.startswith(SQLITE_SCHEME) and len(target) > len(SQLITE_SCHEME):
        return BACKENDS["sqlite"]
    if "://" not in target and target.lower().endswith(_SQLITE_SUFFIXES):
        return BACKENDS["sqlite"]
    if "://" not in target and target.lower().endswith(_DUCKDB_SUFFIXES):
        return BACKENDS["duckdb"]
    if os.path.isdir(os.path.join(target, "_delta_log")):
        raise LoadError(f"{target} is a Delta Lake table: give --into {DELTA_SCHEME}{target}")
    raise LoadError(
        f"cannot tell what kind of database {target!r} is: give a DuckDB file ending in "
        f"{' or '.join(_DUCKDB_SUFFIXES)}, an SQLite file ending in {' or '.join(_SQLITE_SUFFIXES)} "
        f"(or {SQLITE_SCHEME}PATH), a postgresql:// URL, or {DELTA_SCHEME}PATH for a Delta Lake table"
    )


def default_ledger(table: str) -> str:
    """The ledger beside the table: `raw.articles` -> `raw._articles_files`."""
    parts = table_parts(table)
    return ".".join([*parts[:-1], LEDGER_TABLE])


@dataclass(slots=True)
class LoadSummary:
    export: ExportSummary = field(default_factory=ExportSummary)
    counts: Counts = field(default_factory=Counts)
    committed: bool = False
    read: int = 0  # files read: new or changed (every file, with --mode replace)
    added: list[str] = field(default_factory=list)  # the columns the load added to the table
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True, slots=True)
class LoadOptions:
    table: str = DEFAULT_TABLE
    mode: Mode = "merge"
    prune: bool = False  # merge: delete the rows of files the ledger knows under the paths, and that are gone
    on_schema_change: OnSchemaChange = "evolve"
    ledger: str | None = None  # None: default_ledger(table)


def load(
    paths: Sequence[str],
    target: str,
    *,
    options: LoadOptions | None = None,
    check: CheckOptions | None = None,
    on_invalid: OnInvalid = "fail",
    rejects: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    overwrite: bool = False,
) -> LoadSummary:
    """Load every valid article under `paths` into the table at `target`. Raises LoadError and
    SchemaChangeError (usage), LoadFailed (the write), and what `export` raises; the table is untouched
    unless committed, and the rejects file is written only then."""
    summary = LoadSummary()
    options, check = options or LoadOptions(), check or CheckOptions()
    if check.allow_duplicate_urls:
        raise LoadError(f"a load is keyed by {KEY_FIELD}: duplicates cannot be allowed")
    if options.prune and options.mode != "merge":
        raise LoadError(f"--prune goes with --mode merge: {options.mode} never keeps rows of files that are gone")
    check_rejects(on_invalid, rejects)
    if table_parts(options.table)[-1].startswith(RESERVED_PREFIX):
        raise LoadError(f"--table {options.table!r}: names starting with {RESERVED_PREFIX} are the loader's own")
    backend = backend_for(target)
    schema = load_schema(check.schema_path)
    database = _target(backend, target, options, article_layout(schema))
    local = _local_file(target) if backend.local else None
    refuse_inputs_as_outputs([local, rejects], paths)  # export would check --rejects, but the target is read first
    if local is not None and backend.name != "delta" and not os.path.isdir(os.path.dirname(local) or "."):
        raise LoadError(f"cannot make {local}: directory {os.path.dirname(local)} does not exist")
    if options.ledger is not None and backend.name == "delta":
        raise LoadError("--ledger does not apply to Delta Lake: each row keeps its ledger entry in _articles_* columns")
    # Listed first: a mistyped path or an empty corpus is the error to report first, and the ledger is compared
    # with the listing as it is read, never held whole.
    listing = list_corpus(paths, check, time.time_ns())
    replace = options.mode == "replace"
    compared = LedgerComparison(paths, listing, rules=ledger_rules(schema, check), prune=options.prune)
    state = database.describe(ledger=None if replace else compared)  # and closed again before the checks fork workers
    plan = plan_load(compared, check)
    added = [] if replace else database.planned_columns(state, required_fields(schema), options.on_schema_change)
    summary.read, summary.counts.skipped = len(plan.read), plan.skipped
    loaded: list[tuple[str, str, str | None]] = []

    def taken(result: FileResult) -> None:
        if on_result is not None:
            on_result(result)
        if result.valid and result.url is not None:
            # An object's fingerprint is the listing's ETag (Plan.fingerprints), not the digest of its bytes.
            loaded.append((result.file, result.url, None if is_uri(result.file) else result.digest))

    # The rejects file is published with the table, not before: a load that fails leaves neither.
    published = atomic_output(rejects, overwrite=overwrite) if rejects is not None else None
    with tempfile.TemporaryDirectory(prefix="articles-load-") as folder, published or contextlib.nullcontext():
        staged = Path(folder) / "staged.parquet"
        rejected = os.path.join(folder, "rejects.jsonl") if rejects is not None else None
        if plan.read:
            files = plan.names()
            summary.export = export(
                paths, os.fspath(staged), "parquet", check=dataclasses.replace(check, digests=True, cache_dir=None),
                options=ExportOptions(row_group_size=database.staged_row_group),
                on_invalid=on_invalid, rejects=rejected, on_result=taken, overwrite=True, files=files,
                others=LedgerUrls(plan),
            )  # fmt: skip
            if not summary.export.committed:
                return summary
        change = Change(
            options.mode,
            staged if plan.read else None,
            plan.entries(loaded, uuid.uuid4().hex),
            plan.forget,
            added,
            state.ledger_version,
            reset_ledger=state.columns is None,
        )
        applied = database.apply(change)
        if published is not None:
            _publish(rejected if plan.read else None, published)
    summary.counts = Counts(applied.inserted, applied.updated, applied.unchanged, applied.deleted, plan.skipped)
    summary.added = [column.name for column in added]
    summary.committed = True
    return summary


def _publish(written: str | None, published: AtomicOutput) -> None:
    """The rejects of the load (none when nothing was read) into the user's --rejects file."""
    stream = published.open_file()
    if written is not None:
        with open(written, "rb") as source:
            shutil.copyfileobj(source, stream)
    published.commit()


def _target(backend: Backend, target: str, options: LoadOptions, layout: Field) -> Target:
    ledger = options.ledger or default_ledger(options.table)
    try:
        return backend.target(target, options.table, ledger, layout)
    except ImportError as error:
        raise LoadError(
            f"the {backend.name} driver is not installed: pip install 'articles[{backend.extra}]' "
            f"(from a checkout: pip install '.[{backend.extra}]'); {error}"
        ) from error


def target_path(target: str) -> str:
    """A file or Delta target without its scheme: `sqlite:///w.db` -> `w.db`, `delta:s3://b/t` -> `s3://b/t`."""
    return target.removeprefix(SQLITE_SCHEME).removeprefix(DELTA_SCHEME)


def _local_file(target: str) -> str | None:
    """The file or folder of a target on this machine, which no input may be or hold; None for others."""
    local = target_path(target)
    return None if is_uri(local) else local


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
    added = f"; added the column{'s' if len(summary.added) > 1 else ''} {', '.join(summary.added)}"
    return (
        f"loaded {table} in {target}: {counts.inserted:,} inserted, {counts.updated:,} updated, "
        f"{counts.unchanged:,} unchanged, {counts.deleted:,} deleted, {counts.skipped:,} skipped, "
        f"{summary.export.rejected:,} rejected{added if summary.added else ''}; "
        f"{plural(summary.read, 'file')} read in {summary.seconds:.2f} s"
    )


__all__ = [
    "BACKENDS",
    "MODES",
    "Counts",
    "LoadConflict",
    "LoadError",
    "LoadFailed",
    "LoadOptions",
    "LoadSummary",
    "Mode",
    "SchemaChangeError",
    "backend_for",
    "load",
    "load_summary_line",
]
