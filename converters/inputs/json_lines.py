"""JSON Lines (.jsonl, .ndjson): one JSON object per line; blank lines are skipped.

Lines are handed to the workers unparsed, so parsing runs on every core. A
line over the file size limit is refused on its own, without being held in
memory, and reading goes on with the next line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from converters.inputs import Record
from converters.layout import Field
from converters.limits import Limits

_CHUNK = 1 << 20


def read_records(path: str, layout: Field, limits: Limits) -> Iterator[Record]:
    with open(path, "rb") as stream:
        number = 0
        while line := stream.readline(limits.max_file_size + 1):
            number += 1
            if len(line) > limits.max_file_size and not line.endswith(b"\n"):
                _skip_rest_of_line(stream)
                message = f"line is longer than the {limits.max_file_size:,}-byte limit (see --max-file-size)"
                yield Record(path, number, b"", problem=("size", message))
                continue
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if line.strip():
                yield Record(path, number, line.rstrip(b"\r\n"))


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while (chunk := stream.readline(_CHUNK)) and not chunk.endswith(b"\n"):
        pass
