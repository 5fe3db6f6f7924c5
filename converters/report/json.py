"""One JSON object: counts, then every error and warning with its location."""

from __future__ import annotations

import json
from typing import Any, TextIO

from converters.check import Summary
from converters.findings import FileResult
from converters.report.base import Reporter, copy_spool, spool


class _SpooledArray:
    """A JSON array written item by item to a temporary file."""

    def __init__(self) -> None:
        self._file = spool()
        self._separator = "\n  "

    def add(self, item: dict[str, Any]) -> None:
        self._file.write(self._separator + json.dumps(item, ensure_ascii=False))
        self._separator = ",\n  "

    def write_to(self, stream: TextIO) -> None:
        stream.write("[")
        copy_spool(self._file, stream)
        stream.write("\n ]")


class JsonReporter(Reporter):
    def __init__(self, stream: TextIO, *, color: bool = False) -> None:
        super().__init__(stream, color=color)
        self._errors, self._warnings = _SpooledArray(), _SpooledArray()

    def file_checked(self, result: FileResult) -> None:
        for finding in result.errors:
            self._errors.add(finding.as_dict())
        for finding in result.warnings:
            self._warnings.add(finding.as_dict())

    def finish(self, summary: Summary) -> None:
        counts = f'"checked": {summary.checked}, "valid": {summary.valid}, "invalid": {summary.invalid}'
        if summary.stopped:  # only then, so that a complete report keeps its shape
            counts += ', "stopped": true'
        self.stream.write("{" + counts + ',\n "errors": ')
        self._errors.write_to(self.stream)
        self.stream.write(',\n "warnings": ')
        self._warnings.write_to(self.stream)
        self.stream.write("\n}\n")
