"""GitLab Code Quality: a JSON array of issues, for a job's `artifacts:reports:codequality`."""

from __future__ import annotations

from typing import Any, TextIO

from converters.check import Summary
from converters.findings import FileResult, Finding
from converters.report.base import (
    Fingerprints,
    Reporter,
    SpooledArray,
    pointed_message,
    project_path,
    project_root,
)


class GitlabReporter(Reporter):
    def __init__(self, stream: TextIO, *, color: bool = False) -> None:
        super().__init__(stream, color=color)
        self._root = project_root()
        self._issues = SpooledArray("  ")
        self._fingerprints = Fingerprints()

    def file_checked(self, result: FileResult) -> None:
        # GitLab links a path relative to the project; any other (stdin, a file outside) is kept as given.
        path = project_path(result.file, self._root) or result.file
        # GitLab's scale is info, minor, major, critical, blocker: errors rank above warnings, neither blocks.
        for severity, findings in (("major", result.errors), ("minor", result.warnings)):
            for finding in findings:
                self._issues.add(self._issue(finding, severity, path))

    def finish(self, summary: Summary) -> None:
        self._issues.write_to(self.stream)
        self.stream.write("\n")

    def _issue(self, finding: Finding, severity: str, path: str) -> dict[str, Any]:
        digest, occurrence = self._fingerprints.of(path, finding)
        return {
            "description": pointed_message(finding),
            "check_name": finding.keyword,
            # GitLab keeps one issue per fingerprint, so identical findings need their occurrence in it.
            "fingerprint": f"{digest[:24]}{occurrence:08x}",
            "severity": severity,
            # A problem with the whole file (no line) is shown on its first line.
            "location": {"path": path, "lines": {"begin": finding.line or 1}},
        }
