"""Output formats, chosen by name from WRITERS; adding a format is one module and one line here.

A writer's module is imported on first use, so that pyarrow loads only when
Parquet is asked for and `articles validate` starts quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

from converters.registry import import_named
from converters.writers.base import COMPRESSIONS, ExportOptions, SchemaInfo, TaskShare, Writer, WriterError


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    location: str  # "module:Class"

    def load(self) -> type[Writer]:
        writer: type[Writer] = import_named(self.location)
        return writer


WRITERS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("json", (".json",), "converters.writers.json_writers:JsonWriter"),
        Format("jsonl", (".jsonl", ".ndjson"), "converters.writers.json_writers:JsonLinesWriter"),
        Format("csv", (".csv",), "converters.writers.csv:CsvWriter"),
        Format("parquet", (".parquet", ".pq"), "converters.writers.parquet:ParquetWriter"),
        Format("rss", (".rss", ".xml"), "converters.writers.rss:RssWriter"),
    )
}


def format_for(path: str) -> str | None:
    """The format an output path's extension names, if any: `out.ndjson` -> `jsonl`."""
    lowered = path.lower()
    return next((f.name for f in WRITERS.values() if lowered.endswith(f.extensions)), None)


def export_destination(
    output: str | None, to: str | None, *, normalize: str | None = None, partition_by: str | None = None
) -> tuple[str, str]:
    """The target and the format that an export's options name: `-o out.csv` -> ("out.csv", "csv").

    `normalize` is a directory of CSV tables, given instead of `output`;
    `partition_by` makes the output a Parquet dataset. Raises WriterError for
    options that contradict each other, or that name no format.
    """
    if normalize is not None:
        if output is not None:
            raise WriterError("give either -o OUT or --normalize DIR, not both")
        output, to = normalize, to or "csv"
        if to != "csv":
            raise WriterError("--normalize writes CSV tables; it cannot be used with --to " + to)
    if partition_by is not None:
        to = to or "parquet"
        if to != "parquet":
            raise WriterError("--partition-by writes a Parquet dataset; it cannot be used with --to " + to)
    if output is None:
        raise WriterError("missing -o OUT (or - for standard output)")
    format_name = to or format_for(output)
    if format_name is None:
        raise WriterError(f"cannot tell the format from {output!r}: add --to {'|'.join(WRITERS)}")
    return output, format_name


__all__ = [
    "COMPRESSIONS",
    "WRITERS",
    "ExportOptions",
    "Format",
    "SchemaInfo",
    "TaskShare",
    "Writer",
    "WriterError",
    "export_destination",
    "format_for",
]
