"""Paths -> valid records -> one writer, with the output appearing whole or not at all.

The library entry point behind `articles export`; it never prints. Results
(errors included) are handed to `on_result` as they arrive, for reporting.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from converters.check import (
    STDIN_NAME,
    CheckOptions,
    CheckRun,
    OtherFiles,
    Summary,
    check_paths,
    read_file,
    record_text,
)
from converters.findings import FileResult
from converters.inputs import input_format
from converters.layout import record_layout
from converters.limits import Limits
from converters.output import STDOUT, OutputError, atomic_output, refuse_inputs_as_outputs, refuse_outputs_inside
from converters.reader import ReaderError
from converters.report.base import plural
from converters.schema import load_schema, schema_identity
from converters.writers import WRITERS, ExportOptions, SchemaInfo, TaskShare, Writer, WriterError

OnInvalid = Literal["fail", "skip"]


@dataclass(slots=True)
class ExportSummary:
    checked: Summary = field(default_factory=Summary)
    written: int = 0
    rejected: int = 0
    size: int = 0  # bytes written
    committed: bool = False
    target_existed: bool = False  # so that a run that wrote nothing can say what became of the target

    @property
    def seconds(self) -> float:
        return self.checked.seconds  # the checks start the run


def export(
    paths: Sequence[str],
    target: str,
    format_name: str,
    *,
    check: CheckOptions | None = None,
    options: ExportOptions | None = None,
    on_invalid: OnInvalid = "fail",
    rejects: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    overwrite: bool = False,
    files: Sequence[str] | None = None,
    others: OtherFiles | None = None,
) -> ExportSummary:
    """Export every valid article under `paths` to `target` in `format_name`.

    With on_invalid="fail", any invalid file means nothing is written and an
    existing target is left as it was; with "skip", invalid files go to the
    `rejects` JSON Lines file instead. A run stopped by `check.max_errors`
    writes nothing either way. An output replaces an existing file or
    directory only when that is empty or an earlier output, unless `overwrite`.
    Raises OutputError, WriterError, InputError and SchemaError for usage
    problems, before reading or writing anything. `files` and `others` are
    check_paths's.
    """
    check, options = check or CheckOptions(), options or ExportOptions()
    writer_class = WRITERS[format_name].load().variant(options)
    writer_class.check_options(options)
    check_rejects(on_invalid, rejects)
    refuse_inputs_as_outputs([target, rejects], paths)
    if writer_class.writes_directory(options):
        refuse_outputs_inside(target, [rejects])
    schema = load_schema(check.schema_path)
    schema_id, version = schema_identity(schema)
    layout = record_layout(schema)
    if not layout.children and writer_class.needs_properties:
        raise WriterError(
            f"{format_name} takes its fields from the schema's properties, and this schema has none: "
            "add properties, or export to json or jsonl, which need none"
        )
    info = SchemaInfo(layout, schema_id, version)
    check = replace(check, keep_records=True, encode=writer_class.encoder(info, options))

    summary = ExportSummary(target_existed=target != STDOUT and os.path.lexists(target))
    with atomic_output(target, directory=writer_class.writes_directory(options), overwrite=overwrite) as output:
        if target == STDOUT and not writer_class.text and sys.stdout.isatty():
            raise OutputError(f"{format_name} is binary: redirect it, or give a file with -o")
        with _Rejects(rejects, check.limits.max_file_size, overwrite) as rejected:
            destination = output.open_directory() if output.directory else output.open_file()
            writer = writer_class(destination, info, options)
            finished = False
            try:
                # Closed here, in this thread, whatever happens: left to the garbage collector, the pool's
                # shutdown may run on the pool's own thread and fail.
                with contextlib.closing(check_paths(paths, check, files=files, others=others)) as run:
                    _run(run, writer, summary, on_invalid, rejected, on_result)
                if (summary.checked.invalid and on_invalid == "fail") or summary.checked.stopped:
                    return summary  # leaving the block discards the output
                writer.close()
                finished = True
            finally:
                if not finished:  # invalid input, a full disk, Ctrl-C: nothing half-finished may linger
                    writer.abandon()
            summary.written = writer.written(summary.written)
            rejected.commit()
            output.commit()
            summary.size, summary.committed = output.size, True
    return summary


def check_rejects(on_invalid: OnInvalid, rejects: str | None) -> None:
    """OutputError unless --rejects and --on-invalid go together."""
    if on_invalid == "skip" and rejects is None:
        raise OutputError("--on-invalid skip needs --rejects FILE, so that no rejected document is lost")
    if on_invalid == "fail" and rejects is not None:
        raise OutputError("--rejects FILE goes with --on-invalid skip: under fail, an invalid file stops the run")


def export_summary_line(summary: ExportSummary, target: str) -> str:
    checked = summary.checked
    if checked.stopped:
        return (
            f"nothing written: stopped at the error limit after {plural(checked.errors, 'error')} "
            f"in {plural(checked.checked, 'file')}; {_untouched(summary, target)}"
        )
    if not summary.committed:
        verb = "is" if checked.invalid == 1 else "are"
        return (
            f"nothing written: {checked.invalid:,} of {plural(checked.checked, 'file')} {verb} invalid "
            f"({plural(checked.errors, 'error')}); {_untouched(summary, target)}"
        )
    where = "standard output" if target == STDOUT else target
    return (
        f"wrote {plural(summary.written, 'record')} to {where} ({human_size(summary.size)}); "
        f"{summary.rejected:,} rejected; {plural(checked.checked, 'file')} in {summary.seconds:.2f} s"
    )


def _untouched(summary: ExportSummary, target: str) -> str:
    if target == STDOUT:
        return "nothing went to standard output"
    return f"{target} is unchanged" if summary.target_existed else f"{target} was not created"


def human_size(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:,.0f} {unit}" if unit == "bytes" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return f"{amount:,.1f} GiB"


def _run(
    run: CheckRun,
    writer: Writer,
    summary: ExportSummary,
    on_invalid: OnInvalid,
    rejected: _Rejects,
    on_result: Callable[[FileResult], None] | None,
) -> None:
    for chunk in run.chunks():
        for result in chunk.results:
            summary.checked.add(result)
            if on_result is not None:
                on_result(result)
            if not result.valid and on_invalid == "skip":
                rejected.add(result)
                summary.rejected += 1
        if run.stopped or (summary.checked.invalid and on_invalid == "fail"):
            continue  # nothing will be written: only keep reporting errors
        keep = [row.valid for row in chunk.rows]  # a row turns invalid when its webUrl was seen before
        if any(keep) or isinstance(chunk.encoded, TaskShare):
            summary.written += writer.write_encoded(chunk.encoded, keep)
    summary.checked.stopped = run.stopped
    summary.checked.notices = run.warnings


class _Rejects:
    """The rejects file: JSON Lines of {file, errors, raw}, written atomically like the output."""

    def __init__(self, target: str | None, max_size: int, overwrite: bool) -> None:
        self.max_size = max_size
        self.output = atomic_output(target, overwrite=overwrite) if target is not None else None
        self.stream = self.output.open_file() if self.output is not None else None

    def add(self, result: FileResult) -> None:
        assert self.stream is not None
        line: dict[str, Any] = {"file": result.file, "errors": [e.as_dict() for e in result.errors]}
        raw = result.raw if result.raw is not None else self._raw_of_passed(result)
        try:
            line["raw"] = raw.decode("utf-8") if raw is not None else None
        except UnicodeDecodeError:  # kept byte for byte all the same, in place of `raw`
            assert raw is not None
            line["raw_base64"] = base64.b64encode(raw).decode("ascii")
        self.stream.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")

    def _raw_of_passed(self, result: FileResult) -> bytes | None:
        """The text of a document rejected after its worker passed it (a duplicate webUrl)."""
        if input_format(result.file) is not None and result.record is not None:
            return record_text(result.record)  # one record, not the whole data file
        return _reread(result.file, self.max_size)

    def commit(self) -> None:
        if self.output is not None:
            self.output.commit()

    def __enter__(self) -> _Rejects:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.output is not None and not self.output.committed:
            self.output.discard()


def _reread(file: str, max_size: int) -> bytes | None:
    """The raw text of a file rejected after its worker passed it (a duplicate webUrl).

    None for stdin, which cannot be read twice, and for files over the size limit,
    which stay where they are and are named in the rejects file.
    """
    if file == STDIN_NAME:
        return None
    try:
        return read_file(file, Limits(max_file_size=max_size))
    except ReaderError:
        return None


__all__ = [
    "ExportOptions",
    "ExportSummary",
    "OutputError",
    "WriterError",
    "check_rejects",
    "export",
    "export_summary_line",
]
