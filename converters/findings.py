"""What checking a file produces: findings (errors and warnings) and a result per file."""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Position(NamedTuple):
    """1-based line and column in the file; line 1 is the opening `---`."""

    line: int
    column: int


def position_at(line: int | None, column: int | None) -> Position | None:
    """The position, when both its line and its column are known (as stored, with None for unknown)."""
    return Position(line, column) if line is not None and column is not None else None


@dataclass(frozen=True, slots=True)
class Finding:
    """One error or warning, located in a file.

    `keyword` is the JSON Schema keyword that failed (`required`, `format`, ...)
    or a reader word such as `yaml`, `duplicate-key` or `encoding`. `pointer` is
    an RFC 6901 JSON pointer into the document, "" for the root.
    """

    file: str
    line: int | None
    column: int | None
    pointer: str
    keyword: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
            "keyword": self.keyword,
            "message": self.message,
        }


@dataclass(slots=True)
class FileResult:
    """Everything learnt from one file. `record` is kept only when asked for."""

    file: str
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    record: dict[str, Any] | None = None
    raw: bytes | None = None  # the file's bytes, kept for an invalid file when exporting (--rejects)
    url: str | None = None  # top-level webUrl, for the corpus-wide uniqueness check
    url_position: Position | None = None
    digest: str | None = None  # "sha256:<hex>" of the bytes checked, when the run asks (CheckOptions.digests)

    @property
    def valid(self) -> bool:
        return not self.errors

    def __reduce__(self) -> tuple[type[FileResult], tuple[Any, ...]]:
        # Results come back from the workers pickled; rebuilt from their fields in order, they
        # unpickle three times faster than through the slots' state (a warm cache's run is mostly this).
        return FileResult, _fields_of(self)


_fields_of = operator.attrgetter(*(field.name for field in dataclasses.fields(FileResult)))


def in_file_order(findings: list[Finding]) -> None:
    """Sort one file's findings by position, so reports read top to bottom."""
    findings.sort(key=lambda f: (f.line or 0, f.column or 0, f.pointer, f.keyword))


def json_pointer(path: tuple[str | int, ...] | list[str | int]) -> str:
    """RFC 6901: ("a/b", 0) -> "/a~1b/0"."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
