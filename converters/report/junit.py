"""JUnit XML, one test case per file, for GitLab, Jenkins, Azure and the like."""

from __future__ import annotations

import re
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from converters.check import Summary
from converters.findings import FileResult
from converters.report.base import Reporter, copy_spool, plain_line, spool

# XML 1.0 cannot carry these characters at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


class JunitReporter(Reporter):
    def __init__(self, stream: TextIO, *, color: bool = False) -> None:
        super().__init__(stream, color=color)
        self._cases = spool()

    ignores_clean_files = False  # a test case per file

    def file_checked(self, result: FileResult) -> None:
        write = self._cases.write
        write(f'  <testcase classname="articles.validate" name={_attr(result.file)} file={_attr(result.file)}>\n')
        if result.errors:
            count = len(result.errors)
            message = f"{count} error{'' if count == 1 else 's'}: {result.errors[0].message}"
            write(f'   <failure type="invalid" message={_attr(message)}>')
            write(_text("\n".join(plain_line(f) for f in result.errors)))
            write("</failure>\n")
        if result.warnings:
            write(f"   <system-out>{_text(chr(10).join(plain_line(f) for f in result.warnings))}</system-out>\n")
        write("  </testcase>\n")

    def finish(self, summary: Summary) -> None:
        totals = f'tests="{summary.checked}" failures="{summary.invalid}" errors="0" time="{summary.seconds:.3f}"'
        self.stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.stream.write(f'<testsuites name="articles" {totals}>\n')
        self.stream.write(f' <testsuite name="articles validate" {totals}>\n')
        copy_spool(self._cases, self.stream)
        self.stream.write(" </testsuite>\n</testsuites>\n")
