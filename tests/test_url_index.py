"""The webUrl index: every duplicate found and pointed at its first file, in little memory."""

from __future__ import annotations

import errno
import tempfile
import tracemalloc
from pathlib import Path
from typing import NoReturn

import pytest
from conftest import EXAMPLES, RunCli

from converters.check import UrlIndex
from converters.findings import FileResult, Position
from converters.limits import Limits


def _result(n: int, url: str, position: Position | None = None, file: str | None = None) -> FileResult:
    return FileResult(file or f"corpus/{n:07d}.md", url=url, url_position=position)


def _unique_errors(results: list[FileResult]) -> list[tuple[str, str]]:
    return [(r.file, e.message) for r in results for e in r.errors if e.keyword == "unique"]


@pytest.mark.parametrize("buffer_size", [UrlIndex.BUFFER_SIZE, 100])  # the entries in memory, or on disk
def test_every_repeat_is_reported_with_its_first_file_and_line(
    monkeypatch: pytest.MonkeyPatch, buffer_size: int
) -> None:
    monkeypatch.setattr(UrlIndex, "BUFFER_SIZE", buffer_size)
    index = UrlIndex(Limits())
    results = [_result(n, f"https://example.org/{n}", Position(7, 9)) for n in range(5_000)]  # grows 4 times
    results += [_result(5_000 + n, f"https://example.org/{n * 7}", Position(3, 1)) for n in range(50)]
    for result in results:
        index.check(result)
    index.close()
    assert _unique_errors(results) == [
        (f"corpus/{5_000 + n:07d}.md", f"webUrl https://example.org/{n * 7} is also used by corpus/{n * 7:07d}.md:7")
        for n in range(50)
    ]
    assert [(e.line, e.column) for e in results[-1].errors] == [(3, 1)]


def test_records_of_one_data_file_share_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(UrlIndex, "BUFFER_SIZE", 30)  # the path written to disk long before its repeat
    index = UrlIndex(Limits())
    results = [_result(n, f"https://example.org/{n % 3}", Position(n + 1, 1), file="feed.jsonl") for n in range(4)]
    results.insert(3, _result(99, "https://example.org/other", file="other.md"))
    for result in results:
        index.check(result)
    assert _unique_errors(results) == [("feed.jsonl", "webUrl https://example.org/0 is also used by feed.jsonl:1")]


def test_urls_with_the_same_digest_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(UrlIndex, "_digest", staticmethod(lambda url: 42))  # every URL collides
    index = UrlIndex(Limits())
    results = [_result(n, f"https://example.org/{n % 40}") for n in range(60)]
    for result in results:
        index.check(result)
    repeated = [file for file, _ in _unique_errors(results)]
    assert repeated == [f"corpus/{n:07d}.md" for n in range(40, 60)]


def test_unicode_and_surrogates_in_urls_and_paths() -> None:
    index = UrlIndex(Limits())
    url, path = "https://例え.jp/\udcff", "corpus/caf\udce9.md"  # a lone surrogate; a path that is not UTF-8
    first, second = _result(0, url, Position(2, 8), file=path), _result(1, url, Position(2, 8))
    index.check(first)
    index.check(second)
    assert _unique_errors([second]) == [(second.file, f"webUrl {url} is also used by {path}:2")]


def test_memory_per_file_is_a_few_dozen_bytes() -> None:
    """A dict of digests took about 200 bytes a file, 20 MB here; the URLs and paths now wait on disk."""
    files = 100_000
    results = [_result(n, f"https://example.org/a-long-and-descriptive-article-slug-{n}/") for n in range(files)]
    index = UrlIndex(Limits())
    tracemalloc.start()
    try:
        for result in results:
            index.check(result)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        index.close()
    assert held < 48 * files + 1.2 * UrlIndex.BUFFER_SIZE  # the table, and the entries not yet on disk
    assert not any(r.errors for r in results)


@pytest.mark.parametrize("command", ["validate", "export"])
def test_a_full_temporary_disk_is_exit_3_with_a_clear_error(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    def no_space(*args: object, **kwargs: object) -> NoReturn:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(UrlIndex, "BUFFER_SIZE", 1)  # to disk from the first URL
    monkeypatch.setattr(tempfile, "TemporaryFile", no_space)
    out = tmp_path / "out.jsonl"
    args = [command, str(EXAMPLES), *(["-o", str(out)] if command == "export" else [])]
    result = run_cli(*args)
    assert result.exit_code == 3
    assert "cannot keep the webUrl index in" in result.stderr
    assert "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
