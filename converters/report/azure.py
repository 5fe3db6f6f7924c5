"""Azure Pipelines logging commands: `##vso[task.logissue ...]` lines, an error or warning each."""

from __future__ import annotations

import os

from converters.check import STDIN_NAME, Summary
from converters.findings import FileResult, Finding
from converters.report.base import Reporter, pointed_message


def escape(text: str) -> str:
    """As the agent unescapes, in properties and message alike: `%` first, so no escape is escaped twice."""
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A").replace(";", "%3B").replace("]", "%5D")


class AzureReporter(Reporter):
    def file_checked(self, result: FileResult) -> None:
        # Absolute, as the logging commands ask: the agent makes it relative to the repository itself.
        source = None if result.file == STDIN_NAME else os.path.realpath(result.file)
        for kind, findings in (("error", result.errors), ("warning", result.warnings)):
            for finding in findings:
                self.stream.write(_command(kind, finding, source) + "\n")

    def finish(self, summary: Summary) -> None:
        pass  # the summary goes to stderr, like every machine-readable format


def _command(kind: str, finding: Finding, source: str | None) -> str:
    properties = [f"type={kind}"]
    if source is not None:
        properties.append(f"sourcepath={escape(source)}")
    if finding.line is not None:
        properties.append(f"linenumber={finding.line}")
        if finding.column is not None:
            properties.append(f"columnnumber={finding.column}")
    properties.append(f"code={escape(finding.keyword)}")
    return f"##vso[task.logissue {';'.join(properties)}]{escape(pointed_message(finding))}"
