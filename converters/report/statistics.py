"""`--statistics`: how often each keyword failed, most frequent first, as ruff's --statistics counts its rules.

For a corpus with thousands of errors, the table says what is wrong in
general; the findings themselves are left out.
"""

from __future__ import annotations

from collections import Counter

from converters.check import Summary
from converters.findings import FileResult
from converters.report.base import Reporter


class StatisticsReporter(Reporter):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.errors: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()

    def file_checked(self, result: FileResult) -> None:
        self.errors.update(finding.keyword for finding in result.errors)
        self.warnings.update(finding.keyword for finding in result.warnings)

    def finish(self, summary: Summary) -> None:
        rows = [(count, keyword, "error") for keyword, count in self.errors.items()]
        rows += [(count, keyword, "warning") for keyword, count in self.warnings.items()]
        rows.sort(key=lambda row: (-row[0], row[1], row[2]))
        width = len(f"{rows[0][0]:,}") if rows else 1
        for count, keyword, kind in rows:
            self.stream.write(f"{count:>{width},}  {keyword}{'' if kind == 'error' else ' (warning)'}\n")
