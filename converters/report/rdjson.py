"""reviewdog's Diagnostic Result format (rdjson), for `reviewdog -f=rdjson`.

reviewdog counts columns in UTF-8 bytes (rdf Position.column), ours count code
points: a column past the start of a line is converted with the line's text,
read back from the file. Where it cannot be read (stdin, a file since removed)
the column stays as it is, which is right on every line of ASCII text.
"""

from __future__ import annotations

import codecs
from itertools import chain
from typing import Any, BinaryIO, TextIO

from converters.check import STDIN_NAME, Summary
from converters.findings import FileResult, Finding
from converters.report.base import Reporter, SpooledArray, pointed_message, project_path, project_root

_UTF8_MAX = 4  # bytes in the longest UTF-8 character


class RdjsonReporter(Reporter):
    def __init__(self, stream: TextIO, *, color: bool = False) -> None:
        super().__init__(stream, color=color)
        self._root = project_root()
        self._diagnostics = SpooledArray("    ")
        self._lines = LineHeads()

    def file_checked(self, result: FileResult) -> None:
        path = project_path(result.file, self._root) or result.file
        heads = self._heads(result)
        for severity, findings in (("ERROR", result.errors), ("WARNING", result.warnings)):
            for finding in findings:
                self._diagnostics.add(_diagnostic(finding, severity, path, heads))

    def finish(self, summary: Summary) -> None:
        self._lines.close()
        self.stream.write('{\n  "source": {"name": "articles"},\n  "diagnostics": ')
        self._diagnostics.write_to(self.stream)
        self.stream.write("\n}\n")

    def _heads(self, result: FileResult) -> dict[int, bytes]:
        """The start of each line a finding's column points into, long enough to convert every such column."""
        wanted: dict[int, int] = {}
        for finding in chain(result.errors, result.warnings):
            if finding.line is not None and finding.column is not None and finding.column > 1:
                wanted[finding.line] = max(wanted.get(finding.line, 0), finding.column)
        heads: dict[int, bytes] = {}
        for line in sorted(wanted):  # forward through the file, in one pass
            head = self._lines.head(result.file, line, len(codecs.BOM_UTF8) + _UTF8_MAX * (wanted[line] - 1))
            if head is not None:
                heads[line] = head
        return heads


def _diagnostic(finding: Finding, severity: str, path: str, heads: dict[int, bytes]) -> dict[str, Any]:
    location: dict[str, Any] = {"path": path}
    if finding.line is not None:
        start = {"line": finding.line}
        if finding.column is not None:
            head = heads.get(finding.line)
            start["column"] = finding.column if head is None else byte_column(head, finding.line, finding.column)
        location["range"] = {"start": start}
    return {
        "message": pointed_message(finding),
        "location": location,
        "severity": severity,
        "code": {"value": finding.keyword},
    }


def byte_column(head: bytes, line: int, column: int) -> int:
    """The 1-based UTF-8 byte column of code point `column` on a line whose bytes start with `head`.

    The reader drops a byte-order mark and does not count it; reviewdog counts the file's bytes.
    """
    skipped = len(codecs.BOM_UTF8) if line == 1 and head.startswith(codecs.BOM_UTF8) else 0
    # surrogateescape keeps one code point per byte that is not UTF-8, and gives the byte back.
    text = head[skipped:].rstrip(b"\r\n").decode("utf-8", "surrogateescape")
    before = text[: column - 1]
    past_end = column - 1 - len(before)  # a column at or beyond the end of the line: one byte each
    return skipped + len(before.encode("utf-8", "surrogateescape")) + past_end + 1


class LineHeads:
    """The first bytes of lines of the file being reported on, read forward and kept one at a time.

    Memory stays flat: a long line is skipped in blocks, and only as much of the wanted line is
    read as its column can need. A data file's records arrive in line order, so its file stays
    open from one record to the next.
    """

    _BLOCK = 1 << 16

    def __init__(self) -> None:
        self._path: str | None = None
        self._stream: BinaryIO | None = None
        self._next = 1  # the line the stream is at the start of
        self._last: tuple[int, bytes, bool] | None = None  # line, head, whether the head is the whole line

    def head(self, path: str, line: int, size: int) -> bytes | None:
        """Up to `size` bytes from the start of line `line` (1-based) of `path`; None if it cannot be read."""
        if path == self._path and self._last is not None:
            last_line, last_head, whole = self._last
            if last_line == line and (whole or len(last_head) >= size):
                return last_head
        if path != self._path or line < self._next:
            self._open(path)
        stream = self._stream
        if stream is None:
            return None
        while self._next < line:
            if not self._skip_line(stream):
                return None  # shorter than it was when checked
            self._next += 1
        head = stream.readline(size)
        whole = head.endswith(b"\n") or len(head) < size
        if not whole:
            self._skip_line(stream)
        self._next += 1
        self._last = (line, head, whole)
        return head

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self._stream = None

    def _open(self, path: str) -> None:
        self.close()
        self._path, self._next, self._last = path, 1, None
        if path == STDIN_NAME:  # read once, already
            return
        try:
            self._stream = open(path, "rb")  # noqa: SIM115 - kept open across calls, closed by close()
        except OSError:
            self._stream = None

    def _skip_line(self, stream: BinaryIO) -> bool:
        """Move past the rest of the current line; False at the end of the file."""
        while block := stream.readline(self._BLOCK):
            if block.endswith(b"\n"):
                return True
        return False
