"""GitHub Actions workflow commands: annotations on the pull request's files."""

from __future__ import annotations

from converters.check import Summary
from converters.findings import FileResult, Finding
from converters.report.base import Reporter


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    def file_checked(self, result: FileResult) -> None:
        for finding in result.errors:
            self.stream.write(self._command("error", finding) + "\n")
        for finding in result.warnings:
            self.stream.write(self._command("warning", finding) + "\n")

    def finish(self, summary: Summary) -> None:
        pass  # the summary goes to stderr, like every machine-readable format

    @staticmethod
    def _command(level: str, finding: Finding) -> str:
        properties = [f"file={_escape_property(finding.file)}"]
        if finding.line is not None:
            properties.append(f"line={finding.line}")
            if finding.column is not None:
                properties.append(f"col={finding.column}")
        properties.append(f"title={_escape_property('articles: ' + finding.keyword)}")
        pointer = f"{finding.pointer}: " if finding.pointer else ""
        return f"::{level} {','.join(properties)}::{_escape_data(pointer + finding.message)}"
