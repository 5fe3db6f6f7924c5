"""Report formats for validation results, chosen by name from REPORTERS."""

from __future__ import annotations

from converters.report.base import Reporter
from converters.report.github import GithubReporter
from converters.report.json import JsonReporter
from converters.report.junit import JunitReporter
from converters.report.text import TextReporter

REPORTERS: dict[str, type[Reporter]] = {
    "text": TextReporter,
    "json": JsonReporter,
    "github": GithubReporter,
    "junit": JunitReporter,
}

__all__ = ["REPORTERS", "Reporter"]
