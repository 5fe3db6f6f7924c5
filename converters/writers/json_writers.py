"""JSON (one array) and JSON Lines (one object per line, as BigQuery loads it).

Values are written exactly as read: timestamps keep the author's text, an
absent key stays absent and null stays null. Keys follow the schema's order.
The JSON is compact, with no space after `,` or `:`, unless --indent is given.
Each record's text is made in the worker processes (see Writer.encoder);
the main process only joins the texts.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from converters.layout import schema_order
from converters.writers.base import Encoder, EncodingWriter, ExportOptions, LineWriter, SchemaInfo, kept


def record_text(record: dict[str, Any], order: Callable[[Any], Any], indent: int | None, lines: bool = False) -> bytes:
    """The record as UTF-8 JSON, its keys put in schema order by `order`.

    Compact, by orjson, unless indented; an indented record is indented once
    more, as an array item. With `lines`, the text ends in a newline, added
    here in the workers rather than by a copy in the process that writes.
    """
    if indent:
        return _indented(order(record), indent)
    return compact_json(order(record), orjson.OPT_APPEND_NEWLINE if lines else 0)


def compact_json(value: Any, option: int = 0) -> bytes:
    """The value as compact UTF-8 JSON, by orjson; Python's json for what orjson refuses.

    orjson refuses an integer past 64 bits and a key that is not a string (YAML
    allows `1: x`); Python's json writes the first as it is and the second as
    a string key, and so does this.
    """
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return (text + "\n" if option & orjson.OPT_APPEND_NEWLINE else text).encode("utf-8")


def _indented(record: dict[str, Any], indent: int) -> bytes:
    # allow_nan=False: the reader already refuses NaN, so this only guards the invariant.
    text = json.dumps(record, ensure_ascii=False, allow_nan=False, indent=indent)
    return (" " * indent + text.replace("\n", "\n" + " " * indent)).encode("utf-8")


class JsonLinesWriter(LineWriter):
    needs_properties = False

    @classmethod
    def encoder(cls, schema: SchemaInfo, options: ExportOptions) -> Encoder:
        return Encoder(functools.partial(record_text, order=schema_order(schema.layout), indent=None, lines=True))


class JsonWriter(EncodingWriter):
    needs_properties = False

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        assert not isinstance(target, Path)
        self.stream = target
        self.stream.write(b"[")
        self.first = True

    @classmethod
    def encoder(cls, schema: SchemaInfo, options: ExportOptions) -> Encoder:
        return Encoder(functools.partial(record_text, order=schema_order(schema.layout), indent=options.indent))

    def write_encoded(self, encoded: list[bytes], keep: Sequence[bool]) -> int:
        texts = kept(encoded, keep)
        if texts:
            self.stream.write((b"\n" if self.first else b",\n") + b",\n".join(texts))
            self.first = False
        return len(texts)

    def close(self) -> None:
        self.stream.write(b"\n]\n" if not self.first else b"]\n")
        self.stream.flush()
