"""JSON (.json): one array of article objects, as `--to json` writes it, or one object.

The array is read streaming, an element at a time, so a file of any size
takes the memory of its largest element. Elements are parsed here (finding
where one ends means parsing it) and sent to the workers as values. A syntax
error ends the file: nothing after it can be located, so it is reported once,
at its line and column.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import BinaryIO

from converters.inputs import Record, StrictDecoder
from converters.layout import Field
from converters.limits import Limits

_CHUNK = 1 << 20
_WHITESPACE = " \t\n\r"


class _Text:
    """A sliding window over the decoded file that knows the line of every offset in it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer = ""
        self.eof = False
        self.line = 1  # the line at buffer offset `counted`
        self.counted = 0
        self.line_start = 0  # buffer offset where the current line starts (negative once dropped)

    def more(self) -> bool:
        """Read the next chunk onto the window; False at the end of the file."""
        if self.eof:
            return False
        data = self.stream.read(_CHUNK)
        self.eof = not data
        self.buffer += self.decoder.decode(data, final=self.eof)
        return bool(data)

    def drop_before(self, offset: int) -> None:
        """Forget the text before `offset`, which becomes offset 0; lines and columns stay right."""
        self.line_at(offset)
        newline = self.buffer.rfind("\n", 0, offset)
        self.line_start = (newline + 1 if newline >= 0 else self.line_start) - offset
        self.buffer = self.buffer[offset:]
        self.counted -= offset

    def line_at(self, offset: int) -> int:
        self.line += self.buffer.count("\n", self.counted, offset)
        self.counted = offset
        return self.line

    def column_at(self, offset: int) -> int:
        newline = self.buffer.rfind("\n", 0, offset)
        return offset - (newline + 1 if newline >= 0 else self.line_start) + 1

    def skip_whitespace(self, offset: int) -> int:
        """The offset of the next character that is not whitespace; len(buffer) at the end of the file."""
        while True:
            while offset < len(self.buffer) and self.buffer[offset] in _WHITESPACE:
                offset += 1
            if offset < len(self.buffer) or not self.more():
                return offset


class _Unreadable(Exception):
    """The file cannot be read past this point: (keyword, message) at a buffer offset."""

    def __init__(self, offset: int, keyword: str, message: str) -> None:
        super().__init__(message)
        self.offset, self.keyword, self.message = offset, keyword, message


def read_records(path: str, layout: Field, limits: Limits) -> Iterator[Record]:
    with open(path, "rb") as stream:
        text = _Text(stream)
        try:
            yield from _elements(path, text, limits)
        except _Unreadable as error:
            line, column = text.line_at(error.offset), text.column_at(error.offset)
            yield Record(path, line, b"", problem=(error.keyword, error.message), column=column)
        except UnicodeDecodeError as error:
            message = f"byte 0x{error.object[error.start]:02x} is not valid UTF-8"
            yield Record(path, text.line_at(len(text.buffer)), b"", problem=("encoding", message))


def _elements(path: str, text: _Text, limits: Limits) -> Iterator[Record]:
    offset = text.skip_whitespace(0)
    if offset == len(text.buffer):
        raise _Unreadable(offset, "empty", "file is empty")
    if text.buffer[offset] == "{":  # one article on its own
        record, offset = _element(path, text, offset, limits)
        yield record
        _expect_end(text, offset)
        return
    if text.buffer[offset] != "[":
        raise _Unreadable(offset, "json", "a .json file must hold an array of objects, or one object")
    offset = text.skip_whitespace(offset + 1)
    if text.buffer[offset : offset + 1] == "]":
        _expect_end(text, offset + 1)
        return
    while True:
        record, offset = _element(path, text, offset, limits)
        yield record
        offset = text.skip_whitespace(offset)
        separator = text.buffer[offset : offset + 1]
        if separator == "]":
            _expect_end(text, offset + 1)
            return
        if separator != ",":
            found = "the end of the file" if not separator else repr(separator)
            raise _Unreadable(offset, "json", f"not valid JSON: expected , or ] after an element, found {found}")
        offset = text.skip_whitespace(offset + 1)


def _element(path: str, text: _Text, offset: int, limits: Limits) -> tuple[Record, int]:
    """The element starting at `offset`, and the offset just past it."""
    text.drop_before(offset)  # the window holds one element at a time, not the file
    decoder = StrictDecoder()
    while True:
        try:
            value, end = decoder.raw_decode(text.buffer, 0)
        except json.JSONDecodeError as error:
            if len(text.buffer) > limits.max_file_size:
                limit = f"{limits.max_file_size:,}-byte limit (see --max-file-size)"
                raise _Unreadable(0, "size", f"an element is larger than the {limit}") from error
            if text.more():
                continue  # it may only be cut off at the end of the window
            raise _Unreadable(error.pos, "json", f"not valid JSON: {error.msg}") from error
        except RecursionError as error:
            raise _Unreadable(0, "depth", "JSON nests too deeply") from error
        if end == len(text.buffer) and text.more():
            continue  # a number may go on in the next chunk
        break
    raw = text.buffer[:end].encode("utf-8", "surrogatepass")
    line, column = text.line_at(0), text.column_at(0)
    if decoder.problem is not None:
        return Record(path, line, raw, problem=decoder.problem, column=column), end
    if not isinstance(value, dict):
        return Record(path, line, raw, column=column), end  # the worker reports what it is instead
    return Record(path, line, raw, record=value, column=column), end


def _expect_end(text: _Text, offset: int) -> None:
    offset = text.skip_whitespace(offset)
    if offset < len(text.buffer):
        raise _Unreadable(offset, "json", "not valid JSON: text after the end of the array")
