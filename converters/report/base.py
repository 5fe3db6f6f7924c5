"""The interface every report format implements."""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from typing import IO, TextIO

from converters.check import Summary
from converters.findings import FileResult, Finding


class Reporter(ABC):
    """Receives results one file at a time, in order, then the summary.

    Formats that must write totals before the findings (JSON, JUnit) spool the
    findings to a temporary file, so memory stays flat however many there are.
    """

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
