"""The webUrl index: every duplicate found and pointed at its first file, in little memory."""

from __future__ import annotations

import errno
import random
import re
import tempfile
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import NoReturn

import pytest
from conftest import RunCli, many_articles

from converters.check import UrlIndex
from converters.findings import FileResult, Position
from converters.limits import Limits
from converters.slot_table import SlotTable


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


@pytest.mark.parametrize("files", [20_000, 100_000])
@pytest.mark.parametrize("small_entries", [SlotTable.SMALL_ENTRIES, 10_000])
def test_memory_is_bounded_whatever_the_number_of_files(
    monkeypatch: pytest.MonkeyPatch, files: int, small_entries: int
) -> None:
    """Up to SMALL_ENTRIES files, a dict of digests (about 110 bytes a file); past them, the slots, whose
    memory stays the same however many files there are."""
    monkeypatch.setattr(SlotTable, "SMALL_ENTRIES", small_entries)
    results = [_result(n, f"https://example.org/a-long-and-descriptive-article-slug-{n}/") for n in range(files)]
    index = UrlIndex(Limits())
    tracemalloc.start()
    try:
        for result in results:
            index.check(result)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        index.close()
    # The dict, or the table's cache twice while the table grows; the entries not yet on disk; a little besides.
    in_memory = 120 * min(files, small_entries) + 2.2 * SlotTable.CACHE_PAGES * 4096
    assert peak < in_memory + 1.2 * UrlIndex.BUFFER_SIZE + 100_000
    assert not any(r.errors for r in results)


@pytest.mark.parametrize("command", ["validate", "export"])
@pytest.mark.parametrize("first_to_disk", ["entries", "table"])
def test_a_full_temporary_disk_is_exit_3_with_a_clear_error(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str, first_to_disk: str
) -> None:
    def no_space(*args: object, **kwargs: object) -> NoReturn:
        raise OSError(errno.ENOSPC, "No space left on device")

    if first_to_disk == "entries":
        monkeypatch.setattr(UrlIndex, "BUFFER_SIZE", 1)  # to disk from the first URL
    else:
        monkeypatch.setattr(SlotTable, "SMALL_ENTRIES", 0)  # no dict: the slots from the first URL
        monkeypatch.setattr(SlotTable, "CACHE_PAGES", 1)  # to disk from the second page used
    many_articles(tmp_path / "in", 40)  # URLs enough to use every page of the first table
    monkeypatch.setattr(tempfile, "TemporaryFile", no_space)
    out = tmp_path / "out.jsonl"
    args = [command, str(tmp_path / "in"), *(["-o", str(out)] if command == "export" else [])]
    result = run_cli(*args)
    assert result.exit_code == 3
    assert "cannot keep the webUrl index in" in result.stderr
    assert "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("small_entries", "cache_pages"),
    [
        (SlotTable.SMALL_ENTRIES, SlotTable.CACHE_PAGES),  # all in the dict
        (5_000, SlotTable.CACHE_PAGES),  # the dict, then the slots, in memory
        (0, 2),  # the slots from the start, mostly on disk
        (5_000, 2),  # the dict moved into slots mostly on disk
    ],
)
def test_the_slot_table_keeps_every_value_under_its_digest(
    monkeypatch: pytest.MonkeyPatch, small_entries: int, cache_pages: int
) -> None:
    monkeypatch.setattr(SlotTable, "SMALL_ENTRIES", small_entries)
    monkeypatch.setattr(SlotTable, "CACHE_PAGES", cache_pages)
    table, expected = SlotTable(), defaultdict[int, list[int]](list)
    # Spread digests, and crowds: one digest many times, neighbours that run across a page's
    # end and around the table's end (the mask keeps the low bits).
    spread = random.Random(7)
    digests = [spread.getrandbits(64) | 1 for _ in range(20_000)]
    digests += [42] * 30 + [(1 << 40) + 255 + n for n in range(40)] + [(1 << 41) - 1 - n for n in range(40)]
    for value, digest in enumerate(digests):
        found, empty = table.lookup(digest)
        assert sorted(found) == expected[digest]
        table.insert(digest, value, empty)
        expected[digest].append(value)
    for digest, values in expected.items():
        assert sorted(table.lookup(digest)[0]) == values
    table.close()


@pytest.mark.parametrize(
    ("small_entries", "buffer_size"),
    [(SlotTable.SMALL_ENTRIES, UrlIndex.BUFFER_SIZE), (SlotTable.SMALL_ENTRIES, 100), (300, 100)],
)
def test_chunks_indexed_at_once_report_what_file_by_file_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, small_entries: int, buffer_size: int
) -> None:
    """check_all() against check(): the same errors, pointing at the same first files and lines, for
    repeats within a chunk, across chunks, and of files indexed at once (whose positions are found
    by reading the file again), in memory, on disk, and once the table has left the dict."""
    monkeypatch.setattr(SlotTable, "SMALL_ENTRIES", small_entries)
    monkeypatch.setattr(UrlIndex, "BUFFER_SIZE", buffer_size)
    rng = random.Random(7)
    urls = [f"https://example.org/{rng.randrange(n + 1) if rng.random() < 0.01 else n}" for n in range(2_000)]
    for n, url in enumerate(urls):
        padding = "".join(f"k{line}: v\n" for line in range(n % 5))
        (tmp_path / f"{n:07d}.md").write_text(f'---\n{padding}webUrl: "{url}"\n---\n', encoding="utf-8")

    def results() -> list[FileResult]:
        made = []
        for n, url in enumerate(urls):
            file = str(tmp_path / f"{n:07d}.md")
            position = Position(n % 5 + 2, 9) if n % 3 else None  # where the file has it, or not known
            made.append(FileResult(file, url=url, url_position=position) if n % 4 else FileResult(file))
        return made

    each, at_once = results(), results()
    one = UrlIndex(Limits())
    for result in each:
        one.check(result)
    other, bulk = UrlIndex(Limits()), 0
    for start in range(0, len(at_once), 50):
        chunk = at_once[start : start + 50]
        if other.check_all(chunk):
            bulk += 1
        else:
            for result in chunk:
                other.check(result)
    assert bulk > 0  # some chunks were indexed at once, and later repeats found their files
    assert [(r.file, r.errors) for r in at_once] == [(r.file, r.errors) for r in each]
    assert _unique_errors(each)  # the repeats were there to find
    assert all(re.search(r"\.md:\d+$", message) for _, message in _unique_errors(at_once))  # each with its line
    one.close()
    other.close()


def test_a_look_up_on_disk_leaves_the_entries_written_after_it_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A repeat reads its first file's entry back from the temporary file; the entries written to it
    afterwards must still land at its end, where their offsets say they are."""
    monkeypatch.setattr(UrlIndex, "BUFFER_SIZE", 100)
    index = UrlIndex(Limits())
    results = [_result(n, f"https://example.org/{n}", Position(n + 1, 1)) for n in range(200)]
    results.append(_result(200, "https://example.org/3"))  # read back from disk, mid-run
    results += [_result(n, f"https://example.org/{n}", Position(n + 1, 1)) for n in range(201, 400)]
    results.append(_result(400, "https://example.org/350"))  # an entry written after that look-up
    for result in results:
        index.check(result)
    index.close()
    assert _unique_errors(results) == [
        ("corpus/0000200.md", "webUrl https://example.org/3 is also used by corpus/0000003.md:4"),
        ("corpus/0000400.md", "webUrl https://example.org/350 is also used by corpus/0000350.md:351"),
    ]
