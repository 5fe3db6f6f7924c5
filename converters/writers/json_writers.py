"""JSON (one array) and JSON Lines (one object per line, as BigQuery loads it).

Values are written exactly as read: timestamps keep the author's text, an
absent key stays absent and null stays null. Keys follow the schema's order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from converters.layout import in_schema_order
from converters.writers.base import ExportOptions, SchemaInfo, Writer, text_stream


def _dumps(record: dict[str, Any], indent: int | None = None) -> str:
    # allow_nan=False: the reader already refuses NaN, so this only guards the invariant.
    return json.dumps(record, ensure_ascii=False, allow_nan=False, indent=indent)


class JsonLinesWriter(Writer):
    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        self.stream = text_stream(target)

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        layout = self.schema.layout
        self.stream.write("".join(_dumps(in_schema_order(r, layout)) + "\n" for r in records))

    def close(self) -> None:
        self.stream.flush()
        self.stream.detach()


class JsonWriter(Writer):
    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        self.stream = text_stream(target)
        self.stream.write("[")
        self.first = True

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        indent = self.options.indent
        for record in records:
            text = _dumps(in_schema_order(record, self.schema.layout), indent)
            if indent:
                text = text.replace("\n", "\n" + " " * indent)
                text = " " * indent + text
            self.stream.write(("\n" if self.first else ",\n") + text)
            self.first = False

    def close(self) -> None:
        self.stream.write("\n]\n" if not self.first else "]\n")
        self.stream.flush()
        self.stream.detach()
