"""`articles load`: upserts by webUrl, in one transaction, into DuckDB, SQLite and a real PostgreSQL.

The incremental loads, the ledger, the modes and schema changes are in test_load_incremental.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import SEEDS, RunCli, articles_script, many_articles
from load_targets import Target
from test_export import CORPUS, _records


def test_loading_twice_inserts_once_then_leaves_every_row_unchanged(run_cli: RunCli, target: Target) -> None:
    files = len(list(CORPUS.iterdir()))
    first = target.load(run_cli, str(CORPUS))
    assert first.exit_code == 0, first.stderr
    assert f": {files} inserted, 0 updated, 0 unchanged, 0 deleted, 0 skipped, 0 rejected" in first.stderr
    second = target.load(run_cli, str(CORPUS))
    assert second.exit_code == 0, second.stderr
    assert f": 0 inserted, 0 updated, 0 unchanged, 0 deleted, {files} skipped, 0 rejected" in second.stderr
    assert "0 files read" in second.stderr
    assert target.count() == files


def test_a_changed_file_is_updated_and_a_new_one_inserted(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    assert target.load(run_cli, str(corpus)).exit_code == 0
    edited = corpus / "edge-minimal.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Only the required fields", "Edited"), "utf-8")
    new = SEEDS[0].read_text(encoding="utf-8").replace('webUrl: "https://', 'webUrl: "https://new.', 1)
    (corpus / "new.md").write_text(new, encoding="utf-8")
    result = target.load(run_cli, str(corpus))
    assert result.exit_code == 0, result.stderr
    files = len(list(CORPUS.iterdir()))
    assert f": 1 inserted, 1 updated, 0 unchanged, 0 deleted, {files - 1} skipped, 0 rejected" in result.stderr
    assert target.count() == files + 1
    assert target.query("SELECT title FROM THE_TABLE WHERE \"webUrl\" = 'https://example.org/news/minimal'") == [
        ("Edited",)
    ]


def test_values_arrive_with_their_types(run_cli: RunCli, target: Target) -> None:
    assert target.load(run_cli, str(CORPUS)).exit_code == 0
    records = {r["webUrl"]: r for r in _records()}
    rows: list[tuple[Any, ...]]
    if target.backend == "delta":
        from deltalake import DeltaTable

        table = DeltaTable(target.path).to_pyarrow_table()
        assert str(table.schema.field("publishedDateTime").type) == "timestamp[us, tz=UTC]"
        assert str(table.schema.field("provider").type).startswith("struct<name: string")
        rows = [
            (
                row["webUrl"], row["title"], _seconds_of(row["publishedDateTime"]), (row["provider"] or {}).get("name"),
                row["topics"], len(row["related"]) if row["related"] is not None else None,
            )
            for row in table.to_pylist()
        ]  # fmt: skip
    elif target.backend == "duckdb":
        rows = target.query(
            'SELECT "webUrl", title, strftime("publishedDateTime", \'%Y-%m-%dT%H:%M:%S\'), provider.name, topics, '
            'len(related), typeof("publishedDateTime"), typeof(provider) FROM THE_TABLE'
        )
        assert {row[6] for row in rows} == {"TIMESTAMP WITH TIME ZONE"}
        assert {row[7] for row in rows} == {'STRUCT("name" VARCHAR, "domain" VARCHAR)'}
    elif target.backend == "sqlite":
        rows = target.query(
            """SELECT "webUrl", title, strftime('%Y-%m-%dT%H:%M:%S', "publishedDateTime"), provider ->> '$.name', """
            """topics, json_array_length(related), typeof("publishedDateTime"), typeof(provider) FROM THE_TABLE"""
        )
        assert {row[6] for row in rows} == {"text"}
        assert {row[7] for row in rows} == {"text"}
        rows = [(*row[:4], json.loads(row[4]) if row[4] is not None else None, *row[5:]) for row in rows]
    else:
        rows = target.query(
            'SELECT "webUrl", title, to_char("publishedDateTime", \'YYYY-MM-DD"T"HH24:MI:SS\'), '
            "provider->>'name', topics, jsonb_array_length(related), pg_typeof(\"publishedDateTime\")::text, "
            "pg_typeof(provider)::text FROM THE_TABLE"
        )
        assert {row[6] for row in rows} == {"timestamp with time zone"}
        assert {row[7] for row in rows} == {"jsonb"}
    assert len(rows) == len(records)
    for url, title, published, provider, topics, related, *_ in rows:
        record = records[url]
        assert title == record["title"]
        assert provider == record["provider"]["name"]
        assert topics == record.get("topics")
        assert related == (len(record["related"]) if "related" in record else None)
        assert published == _utc_seconds(record["publishedDateTime"])


def _seconds_of(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S"))


def _utc_seconds(text: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_an_invalid_file_under_fail_leaves_the_table_as_it_was(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    assert target.load(run_cli, str(CORPUS)).exit_code == 0
    before = target.query('SELECT "webUrl", title FROM THE_TABLE ORDER BY 1')
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for path in corpus.iterdir():
        path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: changed ", 1), "utf-8")
    (corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    result = target.load(run_cli, str(corpus))
    assert result.exit_code == 1
    assert "nothing loaded: 1 file invalid" in result.stderr
    assert target.query('SELECT "webUrl", title FROM THE_TABLE ORDER BY 1') == before


def test_skip_loads_the_valid_and_rejects_the_rest(run_cli: RunCli, target: Target, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    result = target.load(run_cli, str(corpus), "--on-invalid", "skip", "--rejects", str(rejects))
    assert result.exit_code == 0, result.stderr
    assert "1 rejected" in result.stderr
    assert target.count() == len(list(CORPUS.iterdir()))
    assert '"file"' in rejects.read_text(encoding="utf-8")


def test_a_kill_mid_load_leaves_table_and_ledger_as_they_were_or_as_the_load_left_them(
    target: Target, tmp_path: Path
) -> None:
    many_articles(tmp_path / "in", 3000)
    # A killed run cannot remove its staging folder: keep those under tmp_path, not in the machine's /tmp.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    environment = {**os.environ, "TMPDIR": str(scratch)}
    base = [articles_script(), "load", "--into", target.location, "--table", target.table]
    assert subprocess.run([*base, str(CORPUS)], capture_output=True, check=False, env=environment).returncode == 0
    before = _state(target)
    started = time.monotonic()
    reference = subprocess.run([*base, str(tmp_path / "in")], capture_output=True, check=False, env=environment)
    assert reference.returncode == 0
    assert list(scratch.iterdir()) == [], "a finished load left files in the temporary folder"
    duration = time.monotonic() - started
    full = _state(target)
    assert full == (before[0] + 3000, before[1] + 3000)
    _forget_the_new_ones(target)
    outcomes = set()
    for fraction in (0.3, 0.6, 0.8, 0.9, 0.95, 1.0):
        process = subprocess.Popen(
            [*base, str(tmp_path / "in")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment
        )
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(0.2)  # PostgreSQL rolls back when it notices the client is gone
        state = _when_unlocked(lambda: _state(target))
        assert state in (before, full), f"(rows, ledger entries) {state} after a kill at {fraction:.0%} of a load"
        outcomes.add(state)
        _forget_the_new_ones(target)
    assert before in outcomes


def _state(target: Target) -> tuple[int, int]:
    return target.count(), len(target.ledger())


def _forget_the_new_ones(target: Target) -> None:
    target.forget_urls_like("https://n")


def _when_unlocked(read: Callable[[], tuple[int, int]]) -> tuple[int, int]:
    deadline = time.monotonic() + 30
    while True:
        try:
            return read()
        except Exception:  # the killed run's lock on the database file or the table is still being released
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_table_that_does_not_fit_the_schema_is_a_usage_error(run_cli: RunCli, target: Target) -> None:
    if target.backend == "delta":
        import pyarrow as pa
        from deltalake import write_deltalake

        write_deltalake(target.path, pa.table({"id": pa.array([], pa.int32())}))
        result = target.load(run_cli, str(CORPUS))
        assert result.exit_code == 2
        assert "has no _articles_* ledger columns: it was not made by articles load" in result.stderr
        assert target.count() == 0
        return
    target.query("CREATE TABLE THE_TABLE (id integer)")
    result = target.load(run_cli, str(CORPUS))
    assert result.exit_code == 2
    assert f"table {target.table} has the column id (integer), which the schema no longer has: run ALTER TABLE" in (
        result.stderr.replace("INTEGER", "integer")
    )
    assert 'DROP COLUMN "id", or rebuild the table with --mode replace' in result.stderr
    assert target.count() == 0


@pytest.mark.parametrize(
    ("into", "message"),
    [
        ("mysql://localhost/db", "give a DuckDB file"),
        ("warehouse.db", "cannot tell what kind of database 'warehouse.db' is"),
        ("sqlite:///", "an SQLite file ending in .sqlite or .sqlite3 (or sqlite:///PATH), a postgresql:// URL, or"),
        ("delta:", "or delta:PATH for a Delta Lake table"),
        ("postgresql://nobody:secret@127.0.0.1:1/none", "cannot connect to PostgreSQL"),
        ("/no/such/dir/warehouse.duckdb", "cannot make /no/such/dir/warehouse.duckdb: directory /no/such/dir does not"),
        ("/no/such/dir/warehouse.sqlite", "cannot make /no/such/dir/warehouse.sqlite: directory /no/such/dir does not"),
    ],
)
def test_unusable_targets_are_usage_errors(run_cli: RunCli, into: str, message: str) -> None:
    result = run_cli("load", str(CORPUS), "--into", into)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr


@pytest.mark.parametrize(
    ("name", "message"), [("w.duckdb", "cannot open DuckDB database"), ("w.sqlite", "cannot open SQLite")]
)
def test_a_file_that_is_no_database_is_a_usage_error(run_cli: RunCli, tmp_path: Path, name: str, message: str) -> None:
    garbage = tmp_path / name
    garbage.write_bytes(b"not a database at all\n" * 100)
    result = run_cli("load", str(CORPUS), "--into", str(garbage))
    assert result.exit_code == 2
    assert message in result.stderr
    assert garbage.read_bytes() == b"not a database at all\n" * 100


def test_a_missing_driver_names_the_extra_to_install(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from converters import load

    missing = load.Backend("duckdb", "duckdb", "converters.load.not_installed:Target", local=True)
    monkeypatch.setitem(load.BACKENDS, "duckdb", missing)
    result = run_cli("load", str(CORPUS), "--into", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 2
    assert "the duckdb driver is not installed: pip install 'articles[duckdb]'" in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.parametrize("target", ["duckdb", "postgres"], indirect=True)  # the two engines that read CSV
def test_csv_keeps_an_empty_string_apart_from_a_null(target: Target, run_cli: RunCli, tmp_path: Path) -> None:
    """In the golden corpus, the offsets-and-nulls article has `excerpt: ""` and `ampWebUrl: null`."""
    out = tmp_path / "articles.csv"
    assert run_cli("export", str(CORPUS), "-o", str(out)).exit_code == 0
    header = out.read_bytes().split(b"\r\n", 1)[0].decode("utf-8").split(",")
    url = "https://example.org/news/offsets"
    if target.backend == "duckdb":
        source = f"read_csv('{out}', header = true, all_varchar = true, allow_quoted_nulls = false)"
        local = duckdb.connect()
        rows = local.execute(f"""SELECT excerpt, "ampWebUrl" FROM {source} WHERE "webUrl" = '{url}'""")
        assert rows.fetchall() == [("", None)]
        default = f"read_csv('{out}', header = true)"
        loose = local.execute(f"""SELECT excerpt FROM {default} WHERE "webUrl" = '{url}'""")
        assert loose.fetchall() == [(None,)]  # DuckDB's default reads a quoted "" as NULL: the README says so
        return
    import psycopg

    columns = ", ".join(f'"{name}" text' for name in header)
    with psycopg.connect(target.location) as connection:
        connection.execute(f'CREATE TABLE "{target.table}" ({columns})'.encode())
        with connection.cursor().copy(f'COPY "{target.table}" FROM STDIN (FORMAT csv, HEADER true)'.encode()) as copy:
            copy.write(out.read_bytes())
    assert target.query(f"""SELECT excerpt, "ampWebUrl" FROM THE_TABLE WHERE "webUrl" = '{url}'""") == [("", None)]
    assert target.count() == len(_records())


def test_a_qualified_table_name_creates_its_schema(target: Target, run_cli: RunCli) -> None:
    schema = f"raw_{uuid.uuid4().hex[:8]}"
    result = run_cli("load", str(CORPUS), "--into", target.location, "--table", f"{schema}.news")
    if target.backend == "sqlite":
        assert result.exit_code == 2
        assert f"--table '{schema}.news': SQLite has no schemas; give a plain NAME" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    if target.backend == "delta":  # the path names a Delta table; --table is the name in its metadata
        from deltalake import DeltaTable

        assert DeltaTable(target.path).metadata().name == f"{schema}.news"
        return
    rows = target.query(f'SELECT count(*) FROM "{schema}"."news"')
    assert rows == [(len(_records()),)]
    if target.backend == "postgres":
        target.query(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.parametrize("table", ["raw.news.more", "bad name", "1st", "raw.", "x" * 64, 'a"b'])
def test_a_table_name_that_is_not_an_identifier_is_a_usage_error(run_cli: RunCli, tmp_path: Path, table: str) -> None:
    result = run_cli("load", str(CORPUS), "--into", str(tmp_path / "w.duckdb"), "--table", table)
    assert result.exit_code == 2
    assert f"--table {table!r} is not a table name: give NAME or SCHEMA.NAME" in result.stderr
    assert list(tmp_path.iterdir()) == []
    schema_result = run_cli("schema", "--format", "sql", "--table", table)
    assert schema_result.exit_code == 2


def test_date_times_in_a_list_load_in_utc_whatever_the_sessions_zone(
    run_cli: RunCli, postgres_url: str, tmp_path: Path
) -> None:
    import psycopg
    from conftest import SCHEMA_FILE

    # A list of date-times is timestamptz[]: a value without its zone would be read in the session's.
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    schema["properties"]["revisedAt"] = {"type": "array", "items": {"type": "string", "format": "date-time"}}
    (tmp_path / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = SEEDS[1].read_text(encoding="utf-8")
    text = text.replace("\npublished: true", "\npublished: true\nrevisedAt:\n  - 2023-08-04T06:59:00Z", 1)
    (corpus / "a.md").write_text(text, encoding="utf-8")
    table = f"tz_{uuid.uuid4().hex[:12]}"
    zoned = postgres_url + ("&" if "?" in postgres_url else "?") + "options=-c%20TimeZone%3DAmerica/New_York"
    result = run_cli("load", str(corpus), "--schema", str(tmp_path / "schema.json"), "--into", zoned, "--table", table)
    assert result.exit_code == 0, result.stderr
    with psycopg.connect(postgres_url) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        query = f'SELECT "revisedAt"::text, "publishedDateTime"::text FROM "{table}"'
        row = connection.execute(query.encode()).fetchone()
        connection.execute(f'DROP TABLE "{table}"'.encode())
    assert row == ('{"2023-08-04 06:59:00+00"}', "2023-08-04 06:59:00+00")


def test_duckdb_out_of_its_memory_cap_loads_again_uncapped(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from converters.load.duckdb import DuckDbTarget

    # A cap no load fits in: every step runs out of memory once, rolls back, and runs again uncapped.
    monkeypatch.setattr(DuckDbTarget, "memory_limit", "1MB")
    into = str(tmp_path / "w.duckdb")
    for _ in range(2):  # the second also describes a table that exists
        result = run_cli("load", str(CORPUS), "--into", into)
        assert result.exit_code == 0, result.stderr
    with duckdb.connect(into, read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM articles").fetchall() == [(len(list(CORPUS.iterdir())),)]


def test_duckdb_out_of_its_memory_cap_at_the_commit_loads_again_uncapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from converters.load import load
    from converters.load.duckdb import DuckDbTarget
    from converters.load.sql_target import SqlTarget

    # Out of memory at the commit is a TransactionException, not an OutOfMemoryException: retried all the same.
    failures: list[BaseException | None] = []
    applying = SqlTarget.apply

    def watched(target: SqlTarget, change: Any) -> Any:
        try:
            return applying(target, change)
        except Exception as error:
            failures.append(error.__cause__)
            raise

    monkeypatch.setattr(SqlTarget, "apply", watched)
    monkeypatch.setattr(DuckDbTarget, "memory_limit", "8MB")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    minimal = (CORPUS / "edge-minimal.md").read_text(encoding="utf-8")
    for number in range(3_000):  # small rows with long keys: the commit is what runs out of memory
        text = minimal.replace("news/minimal", f"news/{number:06d}-{'x' * 200}")
        (corpus / f"{number:06d}.md").write_text(text, encoding="utf-8")
    into = str(tmp_path / "w.duckdb")
    summary = load([str(corpus)], into)
    assert (summary.committed, summary.counts.inserted) == (True, 3_000)
    assert [type(failure) for failure in failures] == [duckdb.TransactionException]
    with duckdb.connect(into, read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM articles").fetchall() == [(3_000,)]


def test_a_load_into_a_duckdb_file_this_process_holds_open(tmp_path: Path) -> None:
    from converters.load import load

    # DuckDB refuses a second connection with another memory cap than the first: the load goes uncapped.
    into = str(tmp_path / "w.duckdb")
    with duckdb.connect(into) as held:
        for _ in range(2):
            assert load([str(CORPUS)], into).committed
        assert held.execute("SELECT count(*) FROM articles").fetchall() == [(len(list(CORPUS.iterdir())),)]


def test_an_interrupt_during_a_commit_is_held_until_it_is_done() -> None:
    from converters.load.commit import interrupts_held

    before = signal.getsignal(signal.SIGINT)  # not always Python's own: another library may have set one
    with interrupts_held() as noted:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs: it notes, and does not raise
    assert noted == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is before  # the handler before is back


_ENDLESS = "SELECT count(*) FROM range(1000000000) a, range(10) b WHERE a.range % 7 = b.range"  # minutes long


@pytest.mark.parametrize("read", ["_fetch", "_batches"])
def test_a_duckdb_query_interrupted_stops_the_load_as_interrupted(tmp_path: Path, read: str) -> None:
    import threading

    from conftest import SCHEMA_FILE

    from converters.layout import article_layout
    from converters.load.duckdb import DuckDbTarget
    from converters.schema import load_schema

    # DuckDB answers Ctrl-C with a RuntimeError of its own: the load must see an interrupt (exit 130, rolled back).
    target = DuckDbTarget(
        str(tmp_path / "w.duckdb"), "articles", "_articles_files", article_layout(load_schema(SCHEMA_FILE))
    )
    target._open()
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            list(getattr(target, read)(_ENDLESS))
    finally:
        timer.cancel()
        target._close()


def test_a_duckdb_file_another_process_holds_is_busy_not_unusable(run_cli: RunCli, tmp_path: Path) -> None:
    import sys

    into = tmp_path / "w.duckdb"
    assert run_cli("load", str(CORPUS), "--into", str(into)).exit_code == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(into)!r}); print('ready'); "
         "sys.stdout.flush(); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        result = run_cli("load", str(CORPUS), "--into", str(into))
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 3  # as for a load that meets another: a job that runs again on 3 finds it free
    assert "is in use by another process, nothing was loaded" in result.stderr
    assert "Traceback" not in result.stderr
