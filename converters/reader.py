"""Article file bytes -> front matter record (+ body), with positions.

Lines and columns are 1-based in the file, and the opening `---` is line 1.
A UTF-8 byte-order mark and CRLF line endings are accepted.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from converters.findings import Position
from converters.limits import Limits

if TYPE_CHECKING:
    from converters.yaml_tree import Path, YamlError

_BOM = "\ufeff"
_OPENING = re.compile(r"---[ \t]*(?:\n|$)")


class ReaderError(Exception):
    """A file that cannot be read as an article. Positions are 1-based in the file."""

    def __init__(self, keyword: str, message: str, position: Position | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class ReadWarning:
    keyword: str
    message: str
    position: Position | None
    path: Path


@dataclass(slots=True)
class Article:
    """One article: the front matter values, with `body` added when there is one."""

    record: dict[str, Any]
    positions: dict[Path, Position]
    key_positions: dict[Path, Position]
    warnings: list[ReadWarning] = field(default_factory=list)

    def locate(self, path: Path) -> Position | None:
        """Position of the value at `path`, or of its nearest located ancestor.

        Values reached through an alias are located at the alias's parent.
        """
        for end in range(len(path), -1, -1):
            position = self.positions.get(path[:end])
            if position is not None:
                return position
        return None


def read_stream(stream: BinaryIO, limits: Limits) -> bytes:
    """Read at most the size limit, so a huge or endless input is refused early.

    A file says how large it is, and is read in one call of that size:
    read(limit + 1) would allocate the whole limit (16 MiB) for every 3 KB
    article, which costs more than reading it. Pipes, and a file that grows
    while it is read, go on up to the limit.
    """
    limit = limits.max_file_size
    try:
        expected = min(os.fstat(stream.fileno()).st_size, limit)
    except (OSError, AttributeError, io.UnsupportedOperation):  # no file descriptor: an in-memory stream
        expected = limit
    data = stream.read(expected + 1)
    if len(data) > expected:  # not at the end yet
        data += stream.read(limit + 1 - len(data))
    if len(data) > limit:
        raise size_error(limits)
    return data


def size_error(limits: Limits) -> ReaderError:
    return ReaderError("size", f"file is larger than the {limits.max_file_size:,}-byte limit (see --max-file-size)")


def parse_article(data: bytes, limits: Limits) -> Article:
    """Split and read one article file. Raises ReaderError."""
    if len(data) > limits.max_file_size:
        raise size_error(limits)
    # PyYAML costs 15 ms to import, and a valid file the fast reader takes never needs it.
    from converters.yaml_tree import YamlError, compose

    text = _decode(data)
    front_matter, body, body_line = split_front_matter(text)
    try:
        tree = compose(front_matter, limits=limits, line_offset=2, column_offset=1)
    except YamlError as error:
        raise ReaderError(error.keyword, error.message, _file_position(error)) from error
    if tree.value is None:
        raise ReaderError("empty", "front matter is empty", Position(1, 1))
    if not isinstance(tree.value, dict):
        raise ReaderError(
            "not-mapping",
            f"front matter must be a mapping of keys to values, not a {_yaml_kind(tree.value)}",
            Position(2, 1),
        )
    record: dict[str, Any] = tree.value
    if body is not None:
        if "body" in record:
            raise ReaderError(
                "body",
                "`body` is set in the front matter and there is text after the closing ---: keep one",
                tree.positions.get(("body",)),
            )
        record["body"] = body
        tree.positions[("body",)] = Position(body_line, 1)
    warnings = [ReadWarning(w.keyword, w.message, _file_position(w), w.path) for w in tree.warnings]
    return Article(record, tree.positions, tree.key_positions, warnings)


def _file_position(error: YamlError) -> Position | None:
    if error.line is None or error.column is None:
        return None
    return Position(error.line + 2, error.column + 1)


# UTF-32 first: its little-endian mark begins with UTF-16's.
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _decode(data: bytes) -> str:
    if not data.strip():
        raise ReaderError("empty", "file is empty" if not data else "file holds only whitespace")
    for bom, encoding in _OTHER_BOMS:
        if data.startswith(bom):
            raise ReaderError("encoding", f"file is {encoding} (it starts with a byte-order mark): save it as UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", "replace")) + 1
        line = data.count(b"\n", 0, error.start) + 1
        raise ReaderError(
            "encoding", f"byte 0x{data[error.start]:02x} is not valid UTF-8", Position(line, column)
        ) from error
    if text.startswith(_BOM):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            line = text.count("\n", 0, text.index("\r")) + 1
            raise ReaderError(
                "line-ending", "carriage return without line feed: use LF or CRLF line endings", Position(line, 1)
            )
    return text


def split_front_matter(text: str) -> tuple[str, str | None, int]:
    """-> (front matter YAML, body or None, line the body starts on)."""
    if not _OPENING.match(text):
        raise ReaderError("front-matter", "no front matter: the file must start with a line `---`", Position(1, 1))
    start = text.index("\n") + 1 if "\n" in text else len(text)
    closing = _closing_delimiter(text, start)
    if closing is None:
        raise ReaderError("front-matter", "front matter is not closed: no second `---` line", Position(1, 1))
    closing_start, closing_end = closing
    front_matter = text[start:closing_start]
    closing_line = text.count("\n", 0, closing_start) + 1
    rest = text[closing_end + 1 :]
    body = rest.rstrip()
    if not body:
        return front_matter, None, 0
    leading = rest[: len(rest) - len(rest.lstrip("\n"))]
    return front_matter, body.lstrip("\n"), closing_line + 1 + leading.count("\n")


def _closing_delimiter(text: str, start: int) -> tuple[int, int] | None:
    """Where the first line at or after `start` that is `---` (spaces or tabs may follow) starts and ends.

    str.find rather than a multi-line regex: this runs on every file, and is
    several times faster.
    """
    line = start if text.startswith("---", start) else text.find("\n---", start - 1) + 1
    while line > 0 or (line == start and text.startswith("---", start)):
        end = text.find("\n", line + 3)
        end = len(text) if end < 0 else end
        if not text[line + 3 : end].strip(" \t"):
            return line, end
        line = text.find("\n---", end - 1) + 1
    return None


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "sequence"
    return f"scalar ({type(value).__name__})"
