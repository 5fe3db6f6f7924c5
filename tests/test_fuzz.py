"""Fuzzing in CI: bounded, seeded hypothesis runs (longer runs: fuzz/README.md).

1. The reader, on mutated seed documents: it may refuse a file, but only with a
   located, per-file error; it never raises, and what it accepts PyYAML reads
   the same way.
2. Export round trips: a generated valid article, exported, then read back by
   an independent reader (json, csv, pyarrow), gives the same record.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml
from conftest import SEEDS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from independent import expected_arrow_row, expected_csv_row
from strategies import ARTICLES, article_file

from converters.check import CheckOptions, check_bytes
from converters.export import export
from converters.reader import ReaderError, parse_article
from converters.schema import load_schema
from converters.validate import ArticleValidator

VALIDATOR = ArticleValidator(load_schema())
OPTIONS = CheckOptions(keep_records=True)
DOCUMENTS = [seed.read_bytes() for seed in SEEDS]
# The reference: PyYAML's safe loader over libyaml, the scanner our reader uses (PyYAML's
# pure-Python scanner differs from libyaml at the edges, such as a tab after a quoted value).
LIBYAML_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Pieces of YAML syntax that reach the parser's corners: anchors, aliases, tags,
# merge keys, complex keys, flow collections, quotes, block scalars, comments,
# directives, document markers, a BOM, tabs, control characters, a lone CR.
YAML_TOKENS = [
    "&a ", "*a", "!!binary ", "!!python/object:os.system ", "!x ", "<<: ", "? ", ": ", "- ", "[", "]", "{", "}",
    ",", '"', "'", "|", ">-", "# ", "%YAML 1.1\n", "---\n", "...\n", "\ufeff", "\t", "\x00", "\x07", "\r", "\\u",
    "\\ud800", "~", "yes", "0o17", "1e3", ".nan", "2023-02-30", "\n  ", "\n", "key: value\n", "&a [*a]",
]  # fmt: skip


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        # YAML-aware mutations most often: random bytes mostly stop at the UTF-8 decoder.
        kind = draw(st.sampled_from(["token"] * 4 + ["text", "byte", "delete", "duplicate-line", "truncate"]))
        if kind == "token":
            data[where:where] = draw(st.sampled_from(YAML_TOKENS)).encode()
        elif kind == "text":
            data[where:where] = draw(st.text(min_size=1, max_size=4)).encode("utf-8", "surrogatepass")
        elif kind == "byte":
            data[where:where] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 40))]
        elif kind == "duplicate-line":
            start = data.rfind(b"\n", 0, where) + 1
            end = data.find(b"\n", where)
            end = len(data) if end < 0 else end + 1
            data[end:end] = data[start:end]
        else:
            del data[where:]
    return bytes(data)


def _front_matter(data: bytes) -> str:
    """Between the opening line and the first line that is `---` alone (spaces or tabs may follow)."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n")
    if not text.startswith("---"):
        return ""
    after_opening = text.split("\n", 1)[1] if "\n" in text else ""
    closing = re.search(r"^---[ \t]*$", after_opening, re.MULTILINE)
    return after_opening[: closing.start()] if closing else after_opening


def _without_timestamps(value: Any) -> Any:
    """PyYAML reads a timestamp as a datetime; we keep its text. Compare everything else."""
    if isinstance(value, dict):
        return {k: _without_timestamps(v) for k, v in value.items() if not _is_time(v)}
    if isinstance(value, list):
        return [_without_timestamps(v) for v in value if not _is_time(v)]
    return value


def _is_time(value: Any) -> bool:
    if isinstance(value, datetime.date):
        return True
    return isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4:5] == "-"


@settings(max_examples=3000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(document=mutated_documents())
def test_the_reader_never_crashes_and_accepts_only_what_pyyaml_reads_alike(document: bytes) -> None:
    result = check_bytes("fuzzed.md", document, VALIDATOR, OPTIONS)  # must not raise, whatever the bytes
    lines = document.count(b"\n") + 1
    for finding in result.errors + result.warnings:
        assert finding.keyword
        assert finding.message
        assert finding.line is None or 1 <= finding.line <= lines, finding
        assert finding.column is None or finding.column >= 1, finding
    event("refused: " + result.errors[0].keyword if result.errors else "accepted")
    try:
        article = parse_article(document, OPTIONS.limits)
    except ReaderError:
        return
    json.dumps(article.record, ensure_ascii=False).encode("utf-8")  # whatever is read can be exported
    try:
        reference = yaml.load(_front_matter(document), Loader=LIBYAML_SAFE_LOADER)
    except ValueError:  # PyYAML cannot build an impossible date such as 2023-02-30; we keep its text
        return
    record = {k: v for k, v in article.record.items() if k != "body" or "body" in reference}
    assert _without_timestamps(record) == _without_timestamps(reference)


_body = st.lists(st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40), max_size=4).map(
    lambda lines: "\n".join(lines).strip()
)


def _export(corpus: Path, out: Path) -> None:
    summary = export([str(corpus)], str(out), out.suffix.lstrip("."), check=CheckOptions(jobs=1))
    assert summary.committed
    assert summary.written == 1


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(article=ARTICLES, body=_body)
def test_export_round_trips_through_independent_readers(article: dict[str, Any], body: str) -> None:
    expected = dict(article, **({"body": body} if body else {}))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "in").mkdir()
        (root / "in" / "a.md").write_bytes(article_file(article, body))
        for name in ("out.jsonl", "out.csv", "out.parquet"):
            _export(root / "in", root / name)
        assert json.loads((root / "out.jsonl").read_text(encoding="utf-8")) == expected
        with (root / "out.csv").open(encoding="utf-8", newline="") as stream:
            assert next(csv.DictReader(stream)) == expected_csv_row(expected)
        assert pq.read_table(root / "out.parquet").to_pylist() == [expected_arrow_row(expected)]
