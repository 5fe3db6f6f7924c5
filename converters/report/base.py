"""The interface every report format implements."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from typing import IO, Any, TextIO

from converters.check import STDIN_NAME, Summary
from converters.findings import FileResult, Finding


class Reporter(ABC):
    """Receives results one file at a time, in order, then the summary.

    Formats that must write totals before the findings (JSON, JUnit) spool the
    findings to a temporary file, so memory stays flat however many there are.
    """

    # Whether a file with no finding writes nothing (all but JUnit, whose report has a line per file):
    # Display.show_all then does not hand such files over.
    ignores_clean_files = True

    def __init__(self, stream: TextIO, *, color: bool = False) -> None:
        self.stream = stream
        self.color = color

    @abstractmethod
    def file_checked(self, result: FileResult) -> None: ...

    @abstractmethod
    def finish(self, summary: Summary) -> None: ...

    @property
    def writes_summary(self) -> bool:
        """Whether the report itself carries the summary line (else it goes to stderr)."""
        return False


def spool() -> IO[str]:
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+", encoding="utf-8")


def copy_spool(source: IO[str], target: TextIO) -> None:
    source.seek(0)
    while block := source.read(1 << 16):
        target.write(block)
    source.close()


class SpooledArray:
    """A JSON array written item by item to a temporary file, one item a line, then copied out whole.

    ASCII only: a path that is not valid UTF-8 (kept as lone surrogates) cannot break the report.
    """

    def __init__(self, indent: str) -> None:
        self._file = spool()
        self._indent = indent
        self._empty = True

    def add(self, item: dict[str, Any]) -> None:
        self._file.write(("\n" if self._empty else ",\n") + self._indent + json.dumps(item))
        self._empty = False

    def write_to(self, stream: TextIO) -> None:
        """The array, its closing bracket indented one level (two spaces) less than its items."""
        stream.write("[")
        copy_spool(self._file, stream)
        stream.write("]" if self._empty else "\n" + self._indent[2:] + "]")


def project_root() -> str:
    """The working directory, symlinks resolved: paths in reports are relative to it."""
    return os.path.realpath(os.getcwd())


def project_path(file: str, root: str) -> str | None:
    """`file` relative to `root`, with forward slashes; None for stdin and for a file outside `root`.

    Symlinks are resolved, as GitHub asks: it cannot show a result reported under a symlink's path.
    """
    if file == STDIN_NAME:
        return None
    try:
        relative = os.path.relpath(os.path.realpath(file), root)
    except ValueError:  # another drive, on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


# Line numbers in a message (`first defined on line 5`, `also used by a.md:7`) change when lines are
# added above; a fingerprint that kept them would turn an old alert into a new one.
_LINE_NUMBERS = re.compile(r"(?<=\bline )\d+|(?<=:)\d+$")


class Fingerprints:
    """Identities for findings that stay the same from run to run, whatever the worker count.

    A finding is known by its path, keyword, pointer and message, not by its line, so that an edit
    above it does not make it a new alert; identical findings in one file are told apart by their
    order. A file's results arrive together (a data file's records one after another), so only the
    current file's counts are kept.
    """

    def __init__(self) -> None:
        self._path: str | None = None
        self._counts: dict[str, int] = {}

    def of(self, path: str, finding: Finding) -> tuple[str, int]:
        """-> (hex digest of the finding, its occurrence among identical ones in this file, from 1)."""
        if path != self._path:
            self._path, self._counts = path, {}
        key = "\0".join((path, finding.keyword, finding.pointer, _LINE_NUMBERS.sub("#", finding.message)))
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        occurrence = self._counts[digest] = self._counts.get(digest, 0) + 1
        return digest, occurrence


def pointed_message(finding: Finding) -> str:
    """`pointer: message`, or the message alone for a problem with the whole file."""
    return f"{finding.pointer}: {finding.message}" if finding.pointer else finding.message


def location(finding: Finding) -> str:
    """`file:line:col`, with the parts that are known."""
    parts = [finding.file]
    if finding.line is not None:
        parts.append(str(finding.line))
        if finding.column is not None:
            parts.append(str(finding.column))
    return ":".join(parts)


def plain_line(finding: Finding, label: str = "") -> str:
    """`path:line:col: pointer: message [keyword]`; no pointer for file-level problems."""
    pointer = f"{finding.pointer}: " if finding.pointer else ""
    return f"{location(finding)}: {label}{pointer}{finding.message} [{finding.keyword}]"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def summary_line(summary: Summary) -> str:
    line = (
        f"{plural(summary.checked, 'file')} checked: {summary.valid:,} valid, {summary.invalid:,} invalid; "
        f"{plural(summary.errors, 'error')}, {plural(summary.warnings, 'warning')} in {summary.seconds:.2f} s"
    )
    return line + ("; stopped at the error limit, later files were not checked" if summary.stopped else "")
