"""The hostile corpus (tests/hostile) through `validate` and every export format, as real processes.

Every file must get its expected outcome, no run may print a traceback, and
every run must end in bounded time and memory.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import hostile
import pyarrow.parquet as pq
import pytest
from conftest import Measured, run_measured, unprivileged
from typer.testing import CliRunner

from converters.check import CheckOptions, check_paths
from converters.cli import app

# The performance target: flat memory, whatever the input.
MEMORY_LIMIT = 250 * 2**20
TIME_LIMIT = 120.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("hostile")
    return root, hostile.build(root / "corpus")


def _first_errors(findings: list[dict[str, Any]]) -> dict[str, str]:
    first: dict[str, str] = {}
    for finding in findings:
        first.setdefault(finding["file"].removeprefix("corpus/"), finding["keyword"])
    return first


def _rejected(expected: dict[str, str]) -> dict[str, str]:
    return {name: outcome for name, outcome in expected.items() if outcome != hostile.ACCEPTED}


def _accepted(expected: dict[str, str]) -> set[str]:
    return {name for name, outcome in expected.items() if outcome == hostile.ACCEPTED}


def _bounded(run: Measured) -> None:
    assert "Traceback" not in run.stderr
    assert run.seconds < TIME_LIMIT
    assert run.peak_rss < MEMORY_LIMIT, f"peak RSS {run.peak_rss / 2**20:.0f} MiB"


def test_validate_gives_every_file_its_outcome(corpus: tuple[Path, dict[str, str]]) -> None:
    root, expected = corpus
    run = run_measured("validate", "corpus", "--format", "json", cwd=root, timeout=TIME_LIMIT)
    _bounded(run)
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["checked"] == len(expected)  # the symlink loop was not followed
    assert _first_errors(report["errors"]) == _rejected(expected)
    assert report["valid"] == len(_accepted(expected))


def _json(out: Path) -> list[dict[str, Any]]:
    return list(json.loads(out.read_text(encoding="utf-8")))


def _json_lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _csv_rows(out: Path) -> list[dict[str, str]]:
    with out.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _parquet(out: Path) -> list[dict[str, Any]]:
    return list(pq.read_table(out).to_pylist())


def _rss(out: Path) -> list[Any]:
    feed = feedparser.parse(out.read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    return list(feed.entries)


# output name, how to write it ({out} is its path), a reader independent of ours -> the records it finds
EXPORTS: list[tuple[str, list[str], Callable[[Path], list[Any]]]] = [
    ("out.json", ["-o", "{out}"], _json),
    ("out.jsonl", ["-o", "{out}"], _json_lines),
    ("out.csv", ["-o", "{out}"], _csv_rows),
    ("tables", ["--normalize", "{out}"], lambda out: _csv_rows(out / "articles.csv")),
    ("out.parquet", ["-o", "{out}"], _parquet),
    ("dataset", ["-o", "{out}", "--partition-by", "published_date"], _parquet),
    ("out.xml", ["-o", "{out}", "--to", "rss"], _rss),
]


@pytest.mark.parametrize(("name", "options", "read"), EXPORTS, ids=[" ".join([n, *o[2:]]) for n, o, _ in EXPORTS])
def test_every_export_writes_the_accepted_and_rejects_the_rest(
    corpus: tuple[Path, dict[str, str]], name: str, options: list[str], read: Callable[[Path], list[Any]]
) -> None:
    root, expected = corpus
    out, rejects = root / f"{os.getpid()}-{name}", root / f"{os.getpid()}-{name}.rejects.jsonl"
    run = run_measured(
        "export", "corpus", *(option.format(out=out) for option in options),
        "--on-invalid", "skip", "--rejects", str(rejects), "--report", "json", cwd=root, timeout=TIME_LIMIT,
    )  # fmt: skip
    _bounded(run)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(read(out)) == len(_accepted(expected))
    rejected = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert _first_errors([{**r["errors"][0], "file": r["file"]} for r in rejected]) == _rejected(expected)
    # Nothing is lost: each rejected file's bytes are kept, unless it is over the size limit.
    kept = {r["file"].removeprefix("corpus/") for r in rejected if r.get("raw") is not None or r.get("raw_base64")}
    assert kept == set(_rejected(expected)) - {"big-value.md", "over-limit.md"}


def test_a_big_value_under_a_raised_limit_is_accepted(tmp_path: Path) -> None:
    """The documented acceptance: raise --max-file-size and a 50 MB value is an ordinary value."""
    (tmp_path / "big.md").write_bytes(hostile.FILES["big-value.md"][0]())
    run = run_measured("export", "big.md", "-o", "big.jsonl", "--max-file-size", "64MiB", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert len(_json_lines(tmp_path / "big.jsonl")[0]["title"]) == hostile.BIG_VALUE
    # Memory grows with the largest file (about 7 copies of it), not with the corpus.
    assert run.peak_rss < 10 * hostile.BIG_VALUE + 100 * 2**20


def _check_unreadable(root: Path) -> list[list[str | None]]:
    results = check_paths([str(root)], CheckOptions(jobs=1))
    return [[r.file, r.errors[0].keyword if r.errors else None] for r in results]


def test_a_file_that_cannot_be_read_is_an_error_for_that_file_alone(open_tmp: Path) -> None:
    for name, mode in (("a-locked.md", 0o000), ("b-open.md", 0o644)):
        (open_tmp / name).write_text(hostile.SEED, encoding="utf-8")
        (open_tmp / name).chmod(mode)
    outcomes = unprivileged(lambda: _check_unreadable(open_tmp))
    assert outcomes == [[str(open_tmp / "a-locked.md"), "read"], [str(open_tmp / "b-open.md"), None]]


def _export_as_user(source: Path, target: Path) -> list[Any]:
    result = CliRunner().invoke(app, ["export", str(source), "-o", str(target)])
    return [result.exit_code, result.stderr]


def test_an_output_directory_that_cannot_be_written_is_a_usage_error(open_tmp: Path) -> None:
    source, locked = open_tmp / "a.md", open_tmp / "locked"
    source.write_text(hostile.SEED, encoding="utf-8")
    source.chmod(0o644)
    locked.mkdir(mode=0o555)
    assert _export_as_user(source, open_tmp / "warm-up.jsonl")[0] == 0  # imports, here, what the child will need
    code, stderr = unprivileged(lambda: _export_as_user(source, locked / "out.jsonl"))
    assert code == 2
    assert f"directory {locked} is not writable" in stderr
    assert list(locked.iterdir()) == []
