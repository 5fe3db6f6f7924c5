"""Loads that follow the corpus, in every engine: the ledger, --prune, the modes and schema changes.

The reference for every incremental load is a fresh full load of the corpus
as it is then, into another table of the same database: the two tables must
hold the same rows, compared whole.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SCHEMA_FILE, SEEDS, RunCli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from load_targets import Target
from test_export import CORPUS

MINIMAL = "https://example.org/news/minimal"


def _corpus(tmp_path: Path, name: str = "corpus") -> Path:
    corpus = tmp_path / name
    shutil.copytree(CORPUS, corpus)
    return corpus


def _article(url: str, title: str = "A title") -> str:
    text = SEEDS[1].read_text(encoding="utf-8")
    text = re.sub(r'^webUrl: ".*"$', f'webUrl: "{url}"', text, count=1, flags=re.MULTILINE)
    return re.sub(r'^title: ".*"$', f'title: "{title}"', text, count=1, flags=re.MULTILINE)


def _set(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    changed = re.sub(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert changed != text, f"{pattern} is not in {path}"
    path.write_text(changed, encoding="utf-8")


def _loaded(target: Target, run_cli: RunCli, *args: str) -> str:
    result = target.load(run_cli, *args)
    assert result.exit_code == 0, result.stderr
    return str(result.stderr)


def _same_as_a_fresh_load(target: Target, run_cli: RunCli, *args: str) -> None:
    fresh = target.other()
    _loaded(fresh, run_cli, *args)
    assert target.rows() == fresh.rows()


def _summary(stderr: str) -> dict[str, int]:
    line = next(line for line in stderr.splitlines() if line.startswith("loaded "))
    counted = re.findall(r"(\d[\d,]*) (\w+)", line.split(": ", 1)[1])
    return {
        word.replace("file", "files").replace("filess", "files"): int(number.replace(",", ""))
        for number, word in counted
    }


def test_only_new_and_changed_files_are_read(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    (corpus / "new.md").write_text(_article("https://example.org/new"), encoding="utf-8")
    _set(corpus / "edge-minimal.md", r"^title: .*$", 'title: "Edited"')
    counts = _summary(_loaded(target, run_cli, str(corpus)))
    assert counts | {"s": 0} == {
        "inserted": 1, "updated": 1, "unchanged": 0, "deleted": 0, "skipped": 4, "rejected": 0, "files": 2, "s": 0,
    }  # fmt: skip
    _same_as_a_fresh_load(target, run_cli, str(corpus))


def test_a_touched_or_copied_file_is_hashed_and_not_read(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    (corpus / "edge-minimal.md").touch()
    copied = _corpus(tmp_path, "copied")
    shutil.rmtree(corpus)
    copied.rename(corpus)  # every inode and ctime new, every byte the same
    counts = _summary(_loaded(target, run_cli, str(corpus)))
    assert (counts["files"], counts["skipped"]) == (0, 5)


def test_an_edit_that_keeps_size_and_mtime_is_seen(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    edited = corpus / "edge-minimal.md"
    before = edited.stat()
    time.sleep(2.1)  # older than the racy margin: the ledger trusts the stat stamp alone
    _loaded(target, run_cli, str(corpus))
    _set(edited, r"^title: .*$", 'title: "Only the required fieldz"')
    assert edited.stat().st_size == before.st_size
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))  # as tar -x or an rsync --times would
    counts = _summary(_loaded(target, run_cli, str(corpus)))
    assert (counts["files"], counts["updated"]) == (1, 1)
    assert target.query(f"SELECT title FROM THE_TABLE WHERE \"webUrl\" = '{MINIMAL}'") == [
        ("Only the required fieldz",)
    ]


def test_a_file_whose_webUrl_changed_leaves_no_old_row(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    _set(corpus / "edge-minimal.md", r"^webUrl: .*$", 'webUrl: "https://example.org/news/moved"')
    counts = _summary(_loaded(target, run_cli, str(corpus)))  # no --prune: the old URL is gone all the same
    assert (counts["inserted"], counts["deleted"]) == (1, 1)
    assert target.query(f"SELECT count(*) FROM THE_TABLE WHERE \"webUrl\" = '{MINIMAL}'") == [(0,)]
    _same_as_a_fresh_load(target, run_cli, str(corpus))


def test_prune_deletes_exactly_the_rows_of_removed_files(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus, other = _corpus(tmp_path), tmp_path / "other"
    other.mkdir()
    (other / "kept.md").write_text(_article("https://example.org/other"), encoding="utf-8")
    _loaded(target, run_cli, str(corpus))
    _loaded(target, run_cli, str(other))  # another corpus in the same table: its rows are not this corpus's
    by_hand = "https://example.org/by-hand"
    target.insert_by_hand(by_hand, "typed in")
    (corpus / "edge-minimal.md").unlink()
    kept = _summary(_loaded(target, run_cli, str(corpus)))
    assert (kept["deleted"], target.count()) == (0, 7)  # without --prune, a removed file's row stays
    pruned = _summary(_loaded(target, run_cli, str(corpus), "--prune"))
    assert (pruned["deleted"], pruned["files"]) == (1, 0)
    urls = {row[0] for row in target.query('SELECT "webUrl" FROM THE_TABLE')}
    assert MINIMAL not in urls
    assert {by_hand, "https://example.org/other"} <= urls
    assert len(urls) == 6
    assert MINIMAL not in {url for url, _ in target.ledger()}


def test_a_ledger_read_a_few_entries_at_a_time_is_compared_whole(
    run_cli: RunCli, target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger is compared with the listing as it is read: every batch counts, not the first or the last."""
    from converters.load.delta import DeltaTarget
    from converters.load.sql_target import SqlTarget

    for kind in (SqlTarget, DeltaTarget):
        monkeypatch.setattr(kind, "ledger_batch", 2)  # five entries: three batches
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    _set(corpus / "edge-minimal.md", r"^title: .*$", 'title: "Edited"')
    (corpus / "edge-offsets-and-nulls.md").unlink()  # the last file of the walk
    counts = _summary(_loaded(target, run_cli, str(corpus), "--prune"))
    assert counts | {"s": 0} == {
        "inserted": 0, "updated": 1, "unchanged": 0, "deleted": 1, "skipped": 3, "rejected": 0, "files": 1, "s": 0,
    }  # fmt: skip
    _same_as_a_fresh_load(target, run_cli, str(corpus))


def test_prune_leaves_a_webUrl_that_another_file_took(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    moved = (corpus / "edge-minimal.md").read_text(encoding="utf-8")
    (corpus / "edge-minimal.md").unlink()
    (corpus / "renamed.md").write_text(moved, encoding="utf-8")
    counts = _summary(_loaded(target, run_cli, str(corpus), "--prune"))
    assert (counts["deleted"], counts["unchanged"]) == (0, 1)
    assert [file for url, file in target.ledger() if url == MINIMAL] == [str(corpus / "renamed.md")]
    _same_as_a_fresh_load(target, run_cli, str(corpus))


def test_replace_rebuilds_the_table_from_every_file(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    target.insert_by_hand("https://example.org/by-hand", "x")
    counts = _summary(_loaded(target, run_cli, str(corpus), "--mode", "replace"))
    assert (counts["inserted"], counts["deleted"], counts["files"]) == (5, 6, 5)
    _same_as_a_fresh_load(target, run_cli, str(corpus))
    assert len(target.ledger()) == 5


def test_append_inserts_new_files_and_refuses_known_webUrls(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus), "--mode", "append")
    (corpus / "new.md").write_text(_article("https://example.org/new"), encoding="utf-8")
    assert _summary(_loaded(target, run_cli, str(corpus), "--mode", "append"))["inserted"] == 1
    before = (target.rows(), target.ledger())
    _set(corpus / "edge-minimal.md", r"^title: .*$", 'title: "Edited"')
    refused = target.load(run_cli, str(corpus), "--mode", "append")
    assert refused.exit_code == 2
    assert f"--mode append inserts new articles only, and table {target.shown} already has 1 of these" in (
        refused.stderr
    )
    assert MINIMAL in refused.stderr
    assert (target.rows(), target.ledger()) == before


def test_prune_goes_with_merge_alone(run_cli: RunCli, target: Target) -> None:
    result = target.load(run_cli, str(CORPUS), "--mode", "replace", "--prune")
    assert result.exit_code == 2
    assert "--prune goes with --mode merge" in result.stderr


def _schema(tmp_path: Path, change: Any) -> Path:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    change(schema)
    path = tmp_path / f"schema-{len(list(tmp_path.glob('schema-*')))}.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_a_new_optional_property_adds_a_column(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    wider = _schema(tmp_path, lambda s: s["properties"].update(wordCount={"type": "integer"}))
    refused = target.load(run_cli, str(corpus), "--schema", str(wider), "--on-schema-change", "fail")
    assert refused.exit_code == 2
    assert "the schema adds the column wordCount" in refused.stderr
    if target.backend != "delta":  # a Delta table has no ALTER TABLE: the load or a rebuild adds the column
        assert 'ADD COLUMN "wordCount"' in refused.stderr
    two_more = {"wordCount": {"type": "integer"}, "readingTime": {"type": "integer"}}
    refused = target.load(
        run_cli, str(corpus), "--schema", str(_schema(tmp_path, lambda s: s["properties"].update(two_more))),
        "--on-schema-change", "fail",
    )  # fmt: skip
    assert re.search(r"the schema adds the columns wordCount \(.+\), readingTime \(.+\) to table", refused.stderr)
    if target.backend != "delta":
        assert 'ADD COLUMN "wordCount"' in refused.stderr
        assert 'ADD COLUMN "readingTime"' in refused.stderr
    (corpus / "counted.md").write_text(
        _article("https://example.org/counted").replace("type: article", "type: article\nwordCount: 120", 1), "utf-8"
    )
    evolved = _loaded(target, run_cli, str(corpus), "--schema", str(wider))
    assert "0 rejected; added the column wordCount; 6 files read in" in evolved
    counts = _summary(evolved)
    assert (counts["inserted"], counts["files"]) == (1, 6)  # other rules: every file is read again
    values = dict(target.query('SELECT "webUrl", "wordCount" FROM THE_TABLE'))
    assert values.pop("https://example.org/counted") == 120
    assert set(values.values()) == {None}
    _same_as_a_fresh_load(target, run_cli, str(corpus), "--schema", str(wider))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["properties"]["quality"].update(type="string"), "column quality of table {table} is "),
        (lambda s: s["properties"].pop("heat"), "table {table} has the column heat ("),
        (
            lambda s: (s["properties"].update(lang={"type": "string"}), s["required"].append("lang")),
            "the schema adds the required property lang (",
        ),
    ],
    ids=["type", "removed", "required"],
)
def test_a_change_the_rows_cannot_follow_is_a_usage_error(
    run_cli: RunCli, target: Target, tmp_path: Path, change: Any, message: str
) -> None:
    _loaded(target, run_cli, str(CORPUS))
    before = (target.rows(), target.ledger())
    result = target.load(run_cli, str(CORPUS), "--schema", str(_schema(tmp_path, change)))
    assert result.exit_code == 2
    assert message.format(table=target.shown) in result.stderr
    assert "--mode replace" in result.stderr
    assert "Traceback" not in result.stderr
    assert (target.rows(), target.ledger()) == before


def test_every_change_the_rows_cannot_follow_is_named_at_once(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    def change(schema: dict[str, Any]) -> None:
        schema["properties"]["quality"].update(type="string")
        schema["properties"].pop("heat")
        schema["properties"].update(lang={"type": "string"})
        schema["required"].append("lang")

    _loaded(target, run_cli, str(CORPUS))
    result = target.load(run_cli, str(CORPUS), "--schema", str(_schema(tmp_path, change)))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "3 changes the table cannot follow: (1) " in result.stderr
    for message in (
        "(1) column quality of table {table} is ",
        "(2) table {table} has the column heat (",
        "(3) the schema adds the required property lang (",
    ):
        assert message.format(table=target.shown) in result.stderr


def test_an_invalid_file_under_fail_changes_nothing(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    before = (target.rows(), target.ledger())
    _set(corpus / "edge-minimal.md", r"^title: .*$", 'title: "Edited"')
    (corpus / "edge-offsets-and-nulls.md").unlink()
    (corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    result = target.load(run_cli, str(corpus), "--prune")
    assert result.exit_code == 1
    assert (target.rows(), target.ledger()) == before


def test_a_new_file_sorting_first_makes_an_unchanged_one_the_duplicate(
    run_cli: RunCli, target: Target, tmp_path: Path
) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    (corpus / "a-first.md").write_text(_article(MINIMAL, "The first of two"), encoding="utf-8")
    failed = target.load(run_cli, str(corpus))
    assert failed.exit_code == 1
    assert f"webUrl {MINIMAL} is also used by a-first.md" in failed.stderr.replace(str(corpus) + "/", "")
    rejects = tmp_path / "rejects.jsonl"
    skipped = target.load(run_cli, str(corpus), "--on-invalid", "skip", "--rejects", str(rejects))
    assert skipped.exit_code == 0, skipped.stderr
    assert [json.loads(line)["file"].endswith("edge-minimal.md") for line in rejects.read_text().splitlines()] == [True]
    assert [file for url, file in target.ledger() if url == MINIMAL] == [str(corpus / "a-first.md")]
    _same_as_a_fresh_load(target, run_cli, str(corpus), "--on-invalid", "skip", "--rejects", str(rejects))


def test_a_changed_file_and_a_new_one_sharing_a_webUrl_are_read_in_walk_order(
    run_cli: RunCli, target: Target, tmp_path: Path
) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    shared = "https://example.org/shared"
    _set(corpus / "edge-body-and-text.md", r"^webUrl: .*$", f'webUrl: "{shared}"')  # known, changed: hashed
    (corpus / "zz-new.md").write_text(_article(shared, "Later in the walk"), encoding="utf-8")  # new
    rejects = tmp_path / "rejects.jsonl"
    skip = ("--on-invalid", "skip", "--rejects", str(rejects), "--overwrite")
    _loaded(target, run_cli, str(corpus), *skip)
    assert [json.loads(line)["file"].endswith("zz-new.md") for line in rejects.read_text().splitlines()] == [True]
    _same_as_a_fresh_load(target, run_cli, str(corpus), *skip)


def test_a_new_file_sorting_last_is_the_duplicate(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    (corpus / "z-last.md").write_text(_article(MINIMAL, "The second of two"), encoding="utf-8")
    failed = target.load(run_cli, str(corpus))
    assert failed.exit_code == 1
    assert "z-last.md" in failed.stderr
    assert "is also used by" in failed.stderr
    assert "edge-minimal.md:6" in failed.stderr


def test_an_unchanged_corpus_with_skip_still_writes_its_rejects_file(
    run_cli: RunCli, target: Target, tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.jsonl"
    skip = ("--on-invalid", "skip", "--rejects", str(rejects))
    _loaded(target, run_cli, str(CORPUS), *skip)
    rejects.unlink()
    assert _summary(_loaded(target, run_cli, str(CORPUS), *skip, "--overwrite"))["files"] == 0
    assert rejects.read_bytes() == b""


NAMES = [f"{letter}.md" for letter in "abcdefg"]
URLS = [f"https://example.org/u{n}" for n in range(3)]  # few: files share them often, in either order
Step = tuple[str, int, int, int]  # what, which name, which URL, which title
steps = st.tuples(
    st.sampled_from(["write", "write", "retitle", "delete", "break", "same-size", "touch"]),
    st.integers(0, len(NAMES) - 1),
    st.integers(0, len(URLS) - 1),
    st.integers(0, 9),
)


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(st.lists(steps, min_size=1, max_size=4), min_size=1, max_size=4))
def test_loads_after_any_changes_equal_a_fresh_full_load(
    run_cli: RunCli, target: Target, tmp_path_factory: pytest.TempPathFactory, rounds: list[list[Step]]
) -> None:
    """Files come and go, change URL and title, break, and share URLs (duplicates in either order)."""
    scratch = tmp_path_factory.mktemp("rounds")
    corpus = scratch / "corpus"
    corpus.mkdir()
    (corpus / "seed.md").write_text(_article("https://example.org/seed"), encoding="utf-8")
    loaded = target.other()
    skip = ("--on-invalid", "skip", "--rejects", str(scratch / "rejects.jsonl"), "--overwrite")
    for steps_of_round in rounds:
        for what, name, url, title in steps_of_round:
            _change(corpus / NAMES[name], what, URLS[url], f"Title {title}")
        _loaded(loaded, run_cli, str(corpus), "--prune", *skip)
        fresh = loaded.other()
        _loaded(fresh, run_cli, str(corpus), *skip)
        assert loaded.rows() == fresh.rows()


def _change(path: Path, what: str, url: str, title: str) -> None:
    if what == "write":
        path.write_text(_article(url, title), encoding="utf-8")
    elif not path.exists():
        return
    elif what == "retitle":
        path.write_text(re.sub(r'^title: ".*"$', f'title: "{title}"', path.read_text(), flags=re.MULTILINE))
    elif what == "delete":
        path.unlink()
    elif what == "break":
        path.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    elif what == "same-size":
        before = path.stat()
        text = path.read_text(encoding="utf-8")
        flipped = text.replace("Title ", "Titlf ", 1) if "Title " in text else text.replace("Titlf ", "Title ", 1)
        path.write_text(flipped, encoding="utf-8")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        path.touch()


@pytest.mark.parametrize("target", ["delta"], indirect=True)
def test_each_delta_load_is_one_commit_that_every_reader_sees(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    _set(corpus / "edge-minimal.md", r"^title: .*$", 'title: "Edited"')
    (corpus / "edge-offsets-and-nulls.md").unlink()
    _loaded(target, run_cli, str(corpus), "--prune")
    _loaded(target, run_cli, str(corpus))  # nothing changed: nothing committed
    table = DeltaTable(target.path)
    assert [entry["operation"] for entry in table.history()] == ["MERGE", "WRITE"]

    def pairs(read: pa.Table) -> list[tuple[str, str]]:
        return sorted(zip(read.column("webUrl").to_pylist(), read.column("title").to_pylist(), strict=True))

    by_deltalake = pairs(table.to_pyarrow_table())
    by_polars = pairs(pl.read_delta(target.path).to_arrow())
    # The files the last commit lists, read by pyarrow alone: no deltalake in between.
    by_pyarrow = pairs(pa.concat_tables(pq.read_table(uri.removeprefix("file://")) for uri in table.file_uris()))
    assert by_deltalake == by_polars == by_pyarrow
    assert len(by_deltalake) == 4
    assert (MINIMAL, "Edited") in by_deltalake


def test_a_delta_table_in_a_bucket_follows_the_corpus(run_cli: RunCli, bucket: Any, tmp_path: Path) -> None:
    """Against the S3 server: commits go through S3's conditional writes."""
    corpus = _corpus(tmp_path)
    lake = Target("delta", f"delta:{bucket.uri('lake/articles')}", "articles")
    _loaded(lake, run_cli, str(corpus))
    _set(corpus / "edge-minimal.md", r"^webUrl: .*$", 'webUrl: "https://example.org/news/moved"')
    (corpus / "edge-body-and-text.md").unlink()
    counts = _summary(_loaded(lake, run_cli, str(corpus), "--prune"))
    assert (counts["inserted"], counts["deleted"], counts["files"]) == (1, 2, 1)
    log = [key for key in bucket.listed("lake/articles/_delta_log/") if key.endswith(".json")]
    assert log == [
        "lake/articles/_delta_log/00000000000000000000.json",
        "lake/articles/_delta_log/00000000000000000001.json",
    ]
    local = Target("delta", f"delta:{tmp_path / 'local'}", "articles")
    _loaded(local, run_cli, str(corpus))
    from deltalake import DeltaTable

    options = {"AWS_ALLOW_HTTP": "true"}
    in_bucket = DeltaTable(bucket.uri("lake/articles"), storage_options=options).to_pyarrow_table()
    assert sorted(in_bucket.column("webUrl").to_pylist()) == sorted(
        row[0] for row in local.query('SELECT "webUrl" FROM THE_TABLE')
    )


def test_an_empty_walk_is_a_usage_error_and_prunes_nothing(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    before = (target.rows(), target.ledger())
    mistyped = target.load(run_cli, str(corpus), "--include", "*.mdx", "--prune")
    assert mistyped.exit_code == 2
    assert "no articles found" in mistyped.stderr
    assert (target.rows(), target.ledger()) == before


def test_prune_keeps_the_rows_of_files_that_still_exist(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus / "edge-minimal.md"))  # by name
    _loaded(target, run_cli, str(corpus), "--include", "*.txt", "--prune")  # a walk that leaves it out
    assert MINIMAL in {row[0] for row in target.query('SELECT "webUrl" FROM THE_TABLE')}


def test_rows_deleted_by_hand_are_loaded_again(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus))
    target.forget_urls_like(MINIMAL, ledger=False)  # the row alone: the ledger still names its file
    counts = _summary(_loaded(target, run_cli, str(corpus)))
    assert (counts["inserted"], counts["files"]) == (1, 1)
    _same_as_a_fresh_load(target, run_cli, str(corpus))


@pytest.mark.parametrize("table", ["_articles_files", "raw._articles_x"])
def test_the_loaders_own_names_are_refused(run_cli: RunCli, tmp_path: Path, table: str) -> None:
    result = run_cli("load", str(CORPUS), "--into", str(tmp_path / "w.duckdb"), "--table", table)
    assert result.exit_code == 2
    assert "names starting with _articles_ are the loader's own" in result.stderr


def test_append_lets_a_file_read_again_with_the_same_row_pass(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus), "--mode", "append")
    counts = _summary(_loaded(target, run_cli, str(corpus), "--mode", "append", "--max-file-size", "8MiB"))
    assert (counts["files"], counts["unchanged"], counts["inserted"]) == (5, 5, 0)  # other rules: all read again


def test_rejects_are_published_only_with_the_load(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    _loaded(target, run_cli, str(corpus), "--mode", "append")
    (corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    _set(corpus / "edge-minimal.md", r"^title: .*$", 'title: "Edited"')
    rejects = tmp_path / "rejects.jsonl"
    refused = target.load(run_cli, str(corpus), "--mode", "append", "--on-invalid", "skip", "--rejects", str(rejects))
    assert refused.exit_code == 2
    assert not rejects.exists()


def test_an_unchanged_file_of_records_is_read_again_and_its_invalid_records_reported_again(
    run_cli: RunCli, target: Target, tmp_path: Path
) -> None:
    # Its invalid records have no entry, so it is read on every load, as an invalid article file is: a load
    # never goes quiet about a record it leaves out.
    corpus = _corpus(tmp_path)
    exported = tmp_path / "exported.jsonl"
    assert run_cli("export", str(corpus / "edge-minimal.md"), "-o", str(exported)).exit_code == 0
    record = json.loads(exported.read_text(encoding="utf-8")) | {"webUrl": "https://example.org/records/0"}
    (corpus / "records.jsonl").write_text(json.dumps(record) + '\n{"title": "no webUrl"}\n', encoding="utf-8")
    time.sleep(2.1)  # older than the racy margin: its stat stamp alone could vouch for it
    rejects = tmp_path / "rejects.jsonl"
    walk = (str(corpus), "--include", "*.md", "--include", "*.jsonl", "--on-invalid", "skip", "--rejects", str(rejects))
    _loaded(target, run_cli, *walk)
    again = _summary(_loaded(target, run_cli, *walk, "--overwrite"))
    articles = len(list(corpus.rglob("*.md")))
    assert (again["files"], again["skipped"], again["rejected"]) == (1, articles, 1)
    assert [json.loads(line)["file"] for line in rejects.read_text(encoding="utf-8").splitlines()] == [
        str(corpus / "records.jsonl")
    ]


def test_a_file_of_records_is_read_on_every_load_and_its_rows_follow_it(
    run_cli: RunCli, target: Target, tmp_path: Path
) -> None:
    corpus = _corpus(tmp_path)
    exported = tmp_path / "exported.jsonl"
    assert run_cli("export", str(corpus), "-o", str(exported)).exit_code == 0
    records = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()][:3]
    for number, record in enumerate(records):
        record["webUrl"] = f"https://example.org/records/{number}"
    data = corpus / "records.jsonl"  # one file, three ledger entries
    data.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    walk = (str(corpus), "--include", "*.md", "--include", "*.jsonl")
    first = _summary(_loaded(target, run_cli, *walk))
    assert first["inserted"] == first["files"] - 1 + 3
    assert target.query("SELECT count(*) FROM THE_TABLE WHERE \"webUrl\" LIKE '%/records/%'") == [(3,)]
    again = _summary(_loaded(target, run_cli, *walk))  # read again, its rows unchanged
    assert (again["files"], again["unchanged"], again["inserted"], again["deleted"]) == (1, 3, 0, 0)
    records[1]["title"] = "Retitled"
    data.write_text("".join(json.dumps(record) + "\n" for record in records[:2]), encoding="utf-8")
    edited = _summary(_loaded(target, run_cli, *walk))  # the third record gone from its file: its row goes
    assert (edited["updated"], edited["deleted"], edited["unchanged"]) == (1, 1, 1)
    _same_as_a_fresh_load(target, run_cli, *walk)
    data.unlink()
    pruned = _summary(_loaded(target, run_cli, *walk, "--prune"))
    assert (pruned["deleted"], pruned["files"]) == (2, 0)
    assert not {url for url, _ in target.ledger()} & {record["webUrl"] for record in records}
    _same_as_a_fresh_load(target, run_cli, *walk)


def test_a_corpus_in_a_bucket_is_followed_by_its_etags(run_cli: RunCli, bucket: Any, tmp_path: Path) -> None:
    """Objects are compared by size and ETag, from one listing: no object unchanged is fetched."""
    bucket.upload_folder(CORPUS, "corpus/")
    corpus = bucket.uri("corpus/")
    warehouse = Target("sqlite", str(tmp_path / "warehouse.sqlite"), "articles")
    first = _summary(_loaded(warehouse, run_cli, corpus))
    articles = first["inserted"]
    assert _summary(_loaded(warehouse, run_cli, corpus))["skipped"] == articles
    minimal = next(key for key in bucket.listed("corpus/") if key.endswith("edge-minimal.md"))
    text = bucket.get(minimal).decode()
    edited = re.sub(r"^title: .*$", 'title: "Only the required fieldZ"', text, count=1, flags=re.MULTILINE)
    assert len(edited) == len(text)  # the same size: only the ETag tells
    bucket.put(minimal, edited.encode())
    bucket.client.delete_object(Bucket=bucket.name, Key=next(key for key in bucket.listed("corpus/") if key != minimal))
    counts = _summary(_loaded(warehouse, run_cli, corpus, "--prune"))
    assert (counts["files"], counts["updated"], counts["deleted"], counts["skipped"]) == (1, 1, 1, articles - 2)
    assert warehouse.query(f"SELECT title FROM THE_TABLE WHERE \"webUrl\" = '{MINIMAL}'") == [
        ("Only the required fieldZ",)
    ]
    assert all(file.startswith(corpus) for _, file in warehouse.ledger())
    _same_as_a_fresh_load(warehouse, run_cli, corpus)


def test_the_same_key_in_two_buckets_is_two_files(run_cli: RunCli, bucket: Any, tmp_path: Path) -> None:
    from s3_server import Bucket

    mirror = Bucket(bucket.client.meta.endpoint_url)
    corpus = tmp_path / "mirrored"
    corpus.mkdir()
    for number in range(3):
        (corpus / f"a{number}.md").write_text(_article(f"https://example.org/first/{number}"), encoding="utf-8")
    bucket.upload_folder(corpus, "corpus/")
    for number in range(3):
        mirror.put(f"corpus/a{number}.md", _article(f"https://example.org/other/{number}").encode())
    roots = (bucket.uri("corpus/"), mirror.uri("corpus/"))
    warehouse = Target("sqlite", str(tmp_path / "warehouse.sqlite"), "articles")
    _loaded(warehouse, run_cli, *roots)
    for edited, url in ((bucket, "https://example.org/first/1"), (mirror, "https://example.org/other/1")):
        # The same size, in one bucket only: its own ETag tells, not the other bucket's for the same key.
        edited.put("corpus/a1.md", edited.get("corpus/a1.md").replace(b'title: "A', b'title: "B'))
        counts = _summary(_loaded(warehouse, run_cli, *roots))
        assert (counts["files"], counts["updated"]) == (1, 1)
        assert warehouse.query(f"SELECT title FROM THE_TABLE WHERE \"webUrl\" = '{url}'") == [("B title",)]


def test_a_load_through_the_library_with_a_check_cache_keeps_its_ledger(tmp_path: Path) -> None:
    from converters.check import CheckOptions
    from converters.load import load

    # A load fingerprints the very bytes it checks; a cached check has none to give, so a load checks afresh.
    corpus = _corpus(tmp_path)
    warehouse = str(tmp_path / "warehouse.sqlite")
    check = CheckOptions(cache_dir=str(tmp_path / "cache"))
    first = load([str(corpus)], warehouse, check=check)
    articles = first.counts.inserted
    assert len(Target("sqlite", warehouse, "articles").ledger()) == articles
    (corpus / "edge-minimal.md").write_text(_article(MINIMAL, "A longer title than before"), encoding="utf-8")
    assert load([str(corpus)], warehouse, check=check).read == 1
    assert load([str(corpus)], warehouse, check=check).read == 0


def test_a_file_with_several_entries_by_hand_is_read_again(run_cli: RunCli, tmp_path: Path) -> None:
    # Only a file of records has several entries; one in a ledger edited by hand is not trusted by its stamp.
    corpus = _corpus(tmp_path)
    time.sleep(2.1)  # older than the racy margin: its stat stamp alone could vouch for it
    warehouse = Target("sqlite", str(tmp_path / "warehouse.sqlite"), "articles")
    _loaded(warehouse, run_cli, str(corpus))
    with sqlite3.connect(warehouse.location) as connection:
        connection.execute(
            'INSERT INTO "_articles_files" SELECT "table_name", \'https://example.org/by-hand\', "file", '
            '"fingerprint", "size", "stat", "rules", "load_id", "loaded_at" FROM "_articles_files" '
            'WHERE "webUrl" = ?',
            [MINIMAL],
        )
    warehouse.insert_by_hand("https://example.org/by-hand", "typed in")  # an entry counts only with its row
    counts = _summary(_loaded(warehouse, run_cli, str(corpus)))
    assert (counts["files"], counts["unchanged"], counts["deleted"]) == (1, 1, 1)  # the row of its other entry goes
    assert "https://example.org/by-hand" not in {url for url, _ in warehouse.ledger()}


def test_a_corpus_through_a_link_and_through_its_target_is_one_corpus(
    run_cli: RunCli, target: Target, tmp_path: Path
) -> None:
    corpus = _corpus(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(corpus, target_is_directory=True)
    _loaded(target, run_cli, str(link))
    assert {file for _, file in target.ledger()} == {str(path.resolve()) for path in corpus.iterdir()}
    assert _summary(_loaded(target, run_cli, str(corpus)))["files"] == 0
    (corpus / "edge-minimal.md").unlink()
    _set(corpus / "edge-body-and-text.md", r"^webUrl: .*$", 'webUrl: "https://example.org/news/moved"')
    counts = _summary(_loaded(target, run_cli, str(link), "--prune"))
    assert (counts["files"], counts["inserted"], counts["deleted"]) == (1, 1, 2)
    _same_as_a_fresh_load(target, run_cli, str(corpus))
