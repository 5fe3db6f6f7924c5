"""Report formats for validation results, chosen by name from REPORTERS.

A reporter's module is imported on first use: JUnit's XML escaping alone
pulls in urllib and ssl, 12 ms of a 0.2 s run over one file.
"""

from __future__ import annotations

from converters.registry import import_named
from converters.report.base import Reporter

REPORTERS: dict[str, str] = {
    "text": "converters.report.text:TextReporter",
    "json": "converters.report.json:JsonReporter",
    "github": "converters.report.github:GithubReporter",
    "junit": "converters.report.junit:JunitReporter",
    "sarif": "converters.report.sarif:SarifReporter",
    "gitlab": "converters.report.gitlab:GitlabReporter",
    "rdjson": "converters.report.rdjson:RdjsonReporter",
    "azure": "converters.report.azure:AzureReporter",
}


def reporter_named(name: str) -> type[Reporter]:
    reporter: type[Reporter] = import_named(REPORTERS[name])
    return reporter


__all__ = ["REPORTERS", "Reporter", "reporter_named"]
