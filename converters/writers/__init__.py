"""Output formats, chosen by name from WRITERS; adding a format is one module and one line here."""

from __future__ import annotations

from converters.writers.base import ExportOptions, SchemaInfo, Writer, WriterError
from converters.writers.csv import CsvWriter
from converters.writers.json_writers import JsonLinesWriter, JsonWriter

WRITERS: dict[str, type[Writer]] = {
    "json": JsonWriter,
    "jsonl": JsonLinesWriter,
    "csv": CsvWriter,
}


def format_for(path: str) -> str | None:
    """The format an output path's extension names, if any: `out.ndjson` -> `jsonl`."""
    lowered = path.lower()
    for name, writer in WRITERS.items():
        if lowered.endswith(writer.extensions):
            return name
    return None


__all__ = ["WRITERS", "ExportOptions", "SchemaInfo", "Writer", "WriterError", "format_for"]
