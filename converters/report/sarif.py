"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers: one rule per keyword."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from converters import __version__
from converters.check import STDIN_NAME, Summary
from converters.findings import FileResult, Finding
from converters.report.base import (
    Fingerprints,
    Reporter,
    SpooledArray,
    pointed_message,
    project_path,
    project_root,
)

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"
# Stands for the results while the rest of the document is laid out; a NUL is in no path or rule text.
_RESULTS = "\0results"

# keyword -> (short description, what it means and how to fix it). GitHub refuses rules without both.
_RULES: dict[str, tuple[str, str]] = {
    # Reading the file
    "read": ("File cannot be read", "The path is missing, is a folder, or is not readable."),
    "size": ("File is over the size limit", "Shorten or split the file, or raise the limit with --max-file-size."),
    "empty": ("File or front matter is empty", "Put the article's fields between two `---` lines."),
    "encoding": ("File is not UTF-8", "Save the file as UTF-8 text, without a UTF-16 or UTF-32 byte-order mark."),
    "line-ending": ("Carriage return without line feed", "Use LF or CRLF line endings."),
    "front-matter": ("No front matter", "Start the file with a `---` line and close the front matter with another."),
    "not-mapping": ("Front matter is not a mapping", "Write the front matter (or record) as keys with values."),
    "body": ("`body` given twice", "Keep either the `body` field or the text after the closing `---`, not both."),
    "json": ("Record is not valid JSON", "Fix the JSON at the line and column given."),
    "parquet": ("Parquet file or row cannot be read", "Rewrite the file with column types that have JSON values."),
    "csv": ("CSV file or row cannot be read", "Write the file as `articles export --to csv` does: header, cell types."),
    "unique": ("webUrl used by another file", "Give each article its own webUrl, or pass --allow-duplicate-urls."),
    # Reading the YAML
    "yaml": ("Front matter is not valid YAML", "Fix the YAML at the line and column given."),
    "tab": ("Tab in indentation", "YAML indents with spaces only: replace the tabs."),
    "depth": ("Nesting too deep", "Flatten the structure: it nests deeper than the reader allows."),
    "duplicate-key": ("Key given twice", "A mapping holds the same key twice: remove or rename one."),
    "duplicate-anchor": ("YAML anchor defined twice", "Rename one of the anchors, and the aliases that mean it."),
    "key-type": ("Key is not a string", "Mapping keys must be text: quote the key."),
    "tag": ("Unsupported YAML tag", "Remove the tag; values are plain YAML."),
    "merge-key": ("YAML merge key (<<)", "Merge keys are not supported: write the keys out."),
    "value": ("Value has no JSON form", "The value cannot be kept as JSON or UTF-8 text: quote it, or leave it out."),
    "alias-budget": (
        "Aliases expand too far",
        "YAML aliases expand past the number of values allowed: write them out.",
    ),
    "yaml11": (
        "Value that YAML 1.1 and 1.2 read differently",
        "The value reads as one thing here (YAML 1.1) and another in YAML 1.2 tools: quote it.",
    ),
    # The schema (JSON Schema keywords)
    "type": ("Wrong type", "The value has a JSON type the schema does not allow."),
    "required": ("Required field missing", "Add the field the schema requires."),
    "additionalProperties": ("Unexpected field", "The schema does not know this field: remove it or fix its name."),
    "format": ("Wrong format", "The text is not a valid value of its format (a date-time, a URI, ...)."),
    "pattern": ("Does not match the pattern", "The text does not match the regular expression the schema gives."),
    "enum": ("Not an allowed value", "The value is not one of those the schema lists."),
    "const": ("Not the required value", "The value differs from the one the schema requires."),
    "minLength": ("Text too short", "The text is shorter than the schema allows (empty, often)."),
    "maxLength": ("Text too long", "The text is longer than the schema allows."),
    "minimum": ("Number too small", "The number is below the schema's minimum."),
    "maximum": ("Number too large", "The number is above the schema's maximum."),
    "exclusiveMinimum": ("Number too small", "The number is not above the schema's exclusive minimum."),
    "exclusiveMaximum": ("Number too large", "The number is not below the schema's exclusive maximum."),
    "multipleOf": ("Not a multiple", "The number is not a multiple of the schema's multipleOf."),
    "minItems": ("Too few items", "The list has fewer items than the schema allows."),
    "maxItems": ("Too many items", "The list has more items than the schema allows."),
    "uniqueItems": ("Repeated items", "The list holds the same item twice; the schema wants them unique."),
    "contains": ("No matching item", "No item of the list matches what the schema's contains asks for."),
    "minProperties": ("Too few fields", "The object has fewer fields than the schema allows."),
    "maxProperties": ("Too many fields", "The object has more fields than the schema allows."),
    "propertyNames": ("Field name not allowed", "A field's name does not match what the schema allows."),
    "dependentRequired": ("Field needs another", "A field is present without a field the schema requires with it."),
    "anyOf": ("Matches no alternative", "The value matches none of the forms the schema's anyOf allows."),
    "oneOf": ("Not exactly one alternative", "The value must match exactly one of the forms the schema's oneOf lists."),
    "allOf": ("Fails a combined rule", "The value fails one of the rules the schema's allOf combines."),
    "not": ("Matches a forbidden form", "The value matches a form the schema's not forbids."),
}


def _described(keyword: str) -> tuple[str, str]:
    generic = (f"Fails `{keyword}`", f"The value fails the schema's `{keyword}` rule; the message says how.")
    return _RULES.get(keyword, generic)


class SarifReporter(Reporter):
    def __init__(self, stream: TextIO, *, color: bool = False) -> None:
        super().__init__(stream, color=color)
        self._root = project_root()
        self._results = SpooledArray(" " * 8)
        self._fingerprints = Fingerprints()
        self._rules: dict[str, str] = {}  # keyword -> level when first seen; as many as the schema has keywords

    def file_checked(self, result: FileResult) -> None:
        path = project_path(result.file, self._root)
        for level, findings in (("error", result.errors), ("warning", result.warnings)):
            for finding in findings:
                self._rules.setdefault(finding.keyword, level)
                self._results.add(self._result(finding, level, path))

    def finish(self, summary: Summary) -> None:
        document = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [self._run(summary)]}
        head, tail = json.dumps(document, indent=2).split(json.dumps(_RESULTS))
        self.stream.write(head)
        self._results.write_to(self.stream)
        self.stream.write(tail + "\n")

    def _result(self, finding: Finding, level: str, path: str | None) -> dict[str, Any]:
        digest, occurrence = self._fingerprints.of(path or finding.file, finding)
        return {
            "ruleId": finding.keyword,
            "level": level,
            "message": {"text": pointed_message(finding)},
            "locations": [{"physicalLocation": _physical_location(finding, path)}],
            # The only one GitHub reads; its own are `hash:occurrence` too.
            "partialFingerprints": {"primaryLocationLineHash": f"{digest[:16]}:{occurrence}"},
        }

    def _run(self, summary: Summary) -> dict[str, Any]:
        root_uri = Path(self._root).as_uri()
        return {
            "tool": {"driver": {"name": "articles", "version": __version__, "rules": self._rule_list()}},
            "invocations": [_invocation(summary)],
            "originalUriBaseIds": {SOURCE_ROOT: {"uri": root_uri if root_uri.endswith("/") else root_uri + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": _RESULTS,
        }

    def _rule_list(self) -> list[dict[str, Any]]:
        return [_rule(keyword, level) for keyword, level in sorted(self._rules.items())]


def _rule(keyword: str, level: str) -> dict[str, Any]:
    short, full = _described(keyword)
    return {
        "id": keyword,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": f"{full} Run `articles validate` on the file to see every problem with its line and column."},
        "defaultConfiguration": {"level": level},
    }


def _invocation(summary: Summary) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}  # findings or not: the run itself went through
    if summary.stopped:
        message = "stopped at the error limit (--max-errors or --fail-fast): later files were not checked"
        invocation["toolExecutionNotifications"] = [{"level": "note", "message": {"text": message}}]
    return invocation


def _physical_location(finding: Finding, path: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": _artifact(finding.file, path)}
    if finding.line is not None:  # else the problem is with the whole file: no region
        region = {"startLine": finding.line}
        if finding.column is not None:
            region["startColumn"] = finding.column
        location["region"] = region
    return location


def _artifact(file: str, path: str | None) -> dict[str, Any]:
    if path is not None:
        return {"uri": quote(path), "uriBaseId": SOURCE_ROOT}
    if file == STDIN_NAME:  # no file to point to: described, with no uri
        return {"description": {"text": "standard input"}}
    return {"uri": Path(os.path.realpath(file)).as_uri()}
