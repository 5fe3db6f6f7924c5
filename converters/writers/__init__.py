"""Output formats, chosen by name from WRITERS; adding a format is one module and one line here.

A writer's module is imported on first use, so that pyarrow loads only when
Parquet is asked for and `articles validate` starts quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

from converters.registry import import_named
from converters.writers.base import ExportOptions, SchemaInfo, Writer, WriterError


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


__all__ = ["WRITERS", "ExportOptions", "Format", "SchemaInfo", "Writer", "WriterError", "format_for"]
