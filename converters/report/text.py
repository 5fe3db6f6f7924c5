"""`path:line:col: pointer: message [keyword]` lines, for people and editors."""

from __future__ import annotations

from converters.check import Summary
from converters.findings import FileResult, Finding
from converters.report.base import Reporter, location, plain_line, summary_line

_RED, _YELLOW, _GREEN, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"


class TextReporter(Reporter):
    def file_checked(self, result: FileResult) -> None:
        for finding in result.errors:
            self.stream.write(self._line(finding, "", _RED) + "\n")
        for finding in result.warnings:
            self.stream.write(self._line(finding, "warning: ", _YELLOW) + "\n")

    def finish(self, summary: Summary) -> None:
        line = summary_line(summary)
        if self.color:
            line = f"{_GREEN if summary.invalid == 0 else _RED}{line}{_RESET}"
        self.stream.write(line + "\n")

    @property
    def writes_summary(self) -> bool:
        return True

    def _line(self, finding: Finding, label: str, tint: str) -> str:
        if not self.color:
            return plain_line(finding, label)
        pointer = f"{finding.pointer}: " if finding.pointer else ""
        tinted_label = f"{tint}{label}{_RESET}" if label else ""
        # The keyword carries the colour, as ruff colours its rule code: an error has no label to colour.
        return (
            f"{_BOLD}{location(finding)}{_RESET}: {tinted_label}{pointer}{finding.message} "
            f"{tint}[{finding.keyword}]{_RESET}"
        )
