"""Where a command's report goes, and what of it is shown: the stream or --output-file, --quiet, --statistics.

The report file is written like every output (converters/output.py): beside
its target, renamed into place once the run has ended, never left half
written. A machine-readable report never shares its stream with the human
summary line.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Sequence
from typing import TextIO

from converters.check import Summary
from converters.discover import Walk
from converters.findings import FileResult
from converters.output import atomic_output, refuse_inputs_as_outputs
from converters.progress import stderr_progress
from converters.report import reporter_named
from converters.report.base import Reporter
from converters.report.statistics import StatisticsReporter


class ReportFile:
    """--output-file: the report, written atomically."""

    def __init__(self, path: str, *, overwrite: bool, inputs: Sequence[str]) -> None:
        refuse_inputs_as_outputs([path], inputs)
        self.output = atomic_output(path, overwrite=overwrite)
        self.stream = io.TextIOWrapper(self.output.open_file(), encoding="utf-8", newline="")

    def commit(self) -> None:
        self.stream.flush()
        self.stream.detach()
        self.output.commit()

    def discard(self) -> None:
        self.output.discard()


@dataclasses.dataclass(frozen=True, slots=True)
class ReportChoice:
    """What the command line asked of the report."""

    format: str = "text"
    output_file: str | None = None
    quiet: bool = False  # errors only, and no summary line
    statistics: bool = False  # a count per keyword in place of the findings
    color: bool = False


class Display:
    """Report lines as results arrive, with the progress line kept out of their way.

    `progress` is --progress (True), --no-progress (False) or neither (None); see
    converters/progress.py for what each shows where. `walk` finds the files the
    run will check: it is walked again, ahead of the checks, to count them.
    """

    def __init__(
        self,
        choice: ReportChoice,
        default: TextIO,
        report_file: ReportFile | None,
        progress: bool | None,
        walk: Walk | None = None,
    ) -> None:
        self.choice = choice
        self.report_file = report_file
        stream = report_file.stream if report_file is not None else default
        reporter_class = StatisticsReporter if choice.statistics else reporter_named(choice.format)
        self.reporter: Reporter = reporter_class(stream, color=choice.color and report_file is None)
        self.meter = stderr_progress(progress, walk)
        # The human summary line goes to stderr, unless the report is there and is for machines to read.
        self.summary_line_shown = not choice.quiet and (
            report_file is not None or default is not sys.stderr or choice.format == "text" or choice.statistics
        )

    def show(self, result: FileResult) -> None:
        if self.choice.quiet and result.warnings:
            result = dataclasses.replace(result, warnings=[])
        if result.errors or result.warnings:
            self.meter.clear()
        self.reporter.file_checked(result)
        self.meter.advance(result.file)

    @property
    def skips_clean_files(self) -> bool:
        """Whether neither the report nor the progress line needs the files with nothing to report."""
        return self.reporter.ignores_clean_files and not self.meter.enabled

    def show_all(self, results: Sequence[FileResult]) -> None:
        """show() each of a chunk's results; those with nothing to report only when the report or the
        progress line needs them. (Calling show() on each cost a warm cache's run a tenth of its time.)"""
        if self.skips_clean_files:
            results = [result for result in results if result.errors or result.warnings]
        for result in results:
            self.show(result)

    def finish(self, summary: Summary, *, summary_in_report: bool) -> None:
        """The report's end. A report that carries its own summary line (text) writes it when
        `summary_in_report` (validate), and not with --quiet; export and load print their own."""
        self.meter.close()
        if not self.reporter.writes_summary or (summary_in_report and not self.choice.quiet):
            self.reporter.finish(summary)
        if self.report_file is not None:
            self.report_file.commit()

    def close(self) -> None:
        """Discard a report file that was not committed: the run failed before its end."""
        self.meter.close()
        if self.report_file is not None and not self.report_file.output.committed:
            self.report_file.discard()
