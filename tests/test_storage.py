"""s3:// in and out, against a real S3-compatible server: the same answers as from disk, nothing partial published."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import CASES, GOLDEN_CORPUS, REPO, RunCli, RunProcess
from s3_server import Bucket

FORMATS = ["jsonl", "json", "csv", "parquet", "rss"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Valid and invalid articles in nested folders, a hidden file, and a file that is not an article."""
    root = tmp_path / "corpus"
    shutil.copytree(GOLDEN_CORPUS, root / "golden")
    shutil.copytree(CASES / "invalid", root / "b" / "invalid", ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(CASES / "valid" / "yaml11-scalars-warn.md", root / "top-level.md")
    # Warnings in folders on either side of the others, the order shows; `2024` sorts before `2024-01` on disk.
    for folder in ("a", "a/a", "z", "2024", "2024-01"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(CASES / "valid" / "yaml11-scalars-warn.md", root / folder / "w.md")
    (root / ".hidden.md").write_text("not read\n", encoding="utf-8")
    (root / "notes.csv.bak").write_text("not an article\n", encoding="utf-8")
    return root


def _stored(bucket: Bucket, corpus: Path) -> str:
    bucket.upload_folder(corpus, "corpus/")
    return bucket.uri("corpus/")


def _report(run_cli: RunCli, source: str, *options: str) -> tuple[int, list[dict[str, object]]]:
    result = run_cli("validate", source, "-f", "json", "--isolated", *options)
    report = json.loads(result.stdout)
    # Names differ by their start alone, in messages too (a duplicate webUrl names the other file).
    findings = [
        {**f, "file": str(f["file"]).removeprefix(source), "message": str(f["message"]).replace(source, "")}
        for f in report["errors"] + report["warnings"]
    ]
    return result.exit_code, findings


def test_validate_from_a_bucket_reports_what_validate_from_disk_reports(
    run_cli: RunCli, bucket: Bucket, corpus: Path
) -> None:
    uri = _stored(bucket, corpus)
    local = _report(run_cli, str(corpus) + "/")
    stored = _report(run_cli, uri)
    assert stored == local
    assert local[0] == 1
    assert len(local[1]) > 40  # the invalid cases, each at its line and column


def test_include_and_exclude_apply_to_keys_as_to_paths(run_cli: RunCli, bucket: Bucket, corpus: Path) -> None:
    uri = _stored(bucket, corpus)
    options = ("--exclude", "b/invalid/n*", "--exclude", "golden", "--include", "*.md")
    assert _report(run_cli, uri, *options) == _report(run_cli, str(corpus) + "/", *options)


@pytest.mark.parametrize("data_format", FORMATS)
def test_an_export_from_a_bucket_is_byte_identical_to_one_from_disk(
    run_cli: RunCli, bucket: Bucket, tmp_path: Path, data_format: str
) -> None:
    uri = _stored(bucket, GOLDEN_CORPUS)
    local, stored = tmp_path / f"local.{data_format}", tmp_path / f"stored.{data_format}"
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", str(local), "--isolated").exit_code == 0
    result = run_cli("export", uri, "-o", str(stored), "--isolated")
    assert result.exit_code == 0, result.stderr
    assert stored.read_bytes() == local.read_bytes()


@pytest.mark.parametrize("data_format", FORMATS)
def test_an_export_to_a_bucket_publishes_the_bytes_it_writes_to_disk(
    run_cli: RunCli, bucket: Bucket, tmp_path: Path, data_format: str
) -> None:
    local = tmp_path / f"local.{data_format}"
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", str(local), "--isolated").exit_code == 0
    result = run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri(f"out/articles.{data_format}"), "--isolated")
    assert result.exit_code == 0, result.stderr
    assert bucket.get(f"out/articles.{data_format}") == local.read_bytes()
    assert bucket.listed() == [f"out/articles.{data_format}"]  # nothing else, no temporary object


def test_rejects_and_reports_go_to_the_bucket_too(run_cli: RunCli, bucket: Bucket, corpus: Path) -> None:
    uri = _stored(bucket, corpus)
    result = run_cli(
        "export", uri, "-o", bucket.uri("out/a.jsonl"), "--on-invalid", "skip", "--rejects", bucket.uri("out/r.jsonl"),
        "--isolated",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rejected = [json.loads(line) for line in bucket.get("out/r.jsonl").decode().splitlines()]
    assert all(r["file"].startswith(uri) for r in rejected)
    assert len(rejected) > 40
    assert run_cli("validate", str(GOLDEN_CORPUS), "-f", "sarif", "--output-file", bucket.uri("r.sarif")).exit_code == 0
    assert json.loads(bucket.get("r.sarif"))["version"] == "2.1.0"


def test_a_load_from_a_bucket_equals_a_load_from_disk(run_cli: RunCli, bucket: Bucket, tmp_path: Path) -> None:
    uri = _stored(bucket, GOLDEN_CORPUS)
    tables = []
    for name, source in (("local", str(GOLDEN_CORPUS)), ("stored", uri)):
        warehouse = tmp_path / f"{name}.duckdb"
        assert run_cli("load", source, "--into", str(warehouse), "--isolated").exit_code == 0
        with duckdb.connect(str(warehouse)) as connection:
            tables.append(connection.execute("SELECT * FROM articles ORDER BY webUrl").fetchall())
    assert tables[0] == tables[1]
    assert len(tables[0]) == 5


def test_data_files_in_a_bucket_are_read_with_their_partitions(run_cli: RunCli, bucket: Bucket, tmp_path: Path) -> None:
    dataset, jsonl = tmp_path / "dataset", tmp_path / "direct.jsonl"
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", str(dataset), "--partition-by", "category").exit_code == 0
    bucket.upload_folder(dataset, "dataset/")
    assert run_cli("export", str(dataset), "--include", "*.parquet", "-o", str(jsonl), "--isolated").exit_code == 0
    from_bucket = tmp_path / "from-bucket.jsonl"
    result = run_cli("export", bucket.uri("dataset/"), "--include", "*.parquet", "-o", str(from_bucket), "--isolated")
    assert result.exit_code == 0, result.stderr
    assert from_bucket.read_bytes() == jsonl.read_bytes()
    assert b'"category":"' in from_bucket.read_bytes()  # the value came back from the key's folder


def test_an_object_articles_did_not_write_is_kept_unless_overwrite(run_cli: RunCli, bucket: Bucket) -> None:
    bucket.put("out/a.jsonl", b"somebody else's\n")
    refused = run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("out/a.jsonl"), "--isolated")
    assert refused.exit_code == 2
    assert "--overwrite" in refused.stderr
    assert bucket.get("out/a.jsonl") == b"somebody else's\n"
    forced = run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("out/a.jsonl"), "--isolated", "--overwrite")
    assert forced.exit_code == 0
    assert bucket.metadata("out/a.jsonl") == {"articles-output": "1"}
    again = run_cli("export", str(REPO / "examples"), "-o", bucket.uri("out/a.jsonl"), "--isolated")
    assert again.exit_code == 0  # ours now: replaced without being told
    assert len(bucket.get("out/a.jsonl").splitlines()) == 2


def test_a_failed_export_publishes_nothing_and_keeps_the_old_object(run_cli: RunCli, bucket: Bucket) -> None:
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("a.jsonl"), "--isolated").exit_code == 0
    before = bucket.get("a.jsonl")
    invalid = str(CASES / "invalid" / "typo-key.md")
    assert run_cli("export", invalid, "-o", bucket.uri("a.jsonl"), "--isolated").exit_code == 1
    assert run_cli("export", invalid, "-o", bucket.uri("b.jsonl"), "--isolated").exit_code == 1
    assert bucket.get("a.jsonl") == before
    assert bucket.listed() == ["a.jsonl"]


def test_a_multipart_upload_that_fails_is_aborted_and_publishes_nothing(
    bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from converters.storage import Uri, s3

    monkeypatch.setattr(s3, "PART_SIZE", 5 * 2**20)  # S3's smallest part
    store = s3.S3Store()
    calls = []

    def failing_upload_part(**arguments: object) -> object:
        calls.append(arguments["PartNumber"])
        if arguments["PartNumber"] == 2:
            raise ConnectionError("the network went away")
        return real_upload_part(**arguments)

    real_upload_part = store.client.upload_part
    monkeypatch.setattr(store.client, "upload_part", failing_upload_part)
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"x" * (12 * 2**20))
    with pytest.raises(ConnectionError):
        store.upload(str(big), Uri.parse(bucket.uri("big.jsonl")), {})
    assert calls == [1, 2]
    assert bucket.listed() == []
    assert bucket.unfinished_uploads() == []


def test_outputs_inside_an_input_prefix_are_refused(run_cli: RunCli, bucket: Bucket) -> None:
    uri = _stored(bucket, GOLDEN_CORPUS)
    inside = run_cli("export", uri, "-o", bucket.uri("corpus/out.jsonl"), "--isolated")
    assert inside.exit_code == 2
    assert "inside the input" in inside.stderr


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://{bucket}/nothing-here/", "does not exist: s3://{bucket}/nothing-here/"),
        ("s3://no-such-bucket-for-articles/x", "bucket no-such-bucket-for-articles does not exist"),
    ],
)
def test_a_uri_that_names_nothing_is_one_clear_line(
    run_process: RunProcess, bucket: Bucket, uri: str, message: str
) -> None:
    result = run_process("validate", uri.format(bucket=bucket.name), "--isolated")
    assert result.returncode == 2
    assert result.stderr.strip() == f"articles: error: {message.format(bucket=bucket.name)}" or (
        message.format(bucket=bucket.name) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    )


def test_an_unreachable_endpoint_is_one_clear_line(
    run_process: RunProcess, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket_that_refuses() as port:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        result = run_process("validate", bucket.uri("corpus/"), "--isolated")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"articles: error: {bucket.uri('corpus/')}: cannot reach http://127.0.0.1:{port} (check AWS_ENDPOINT_URL)"
    ]


class socket_that_refuses:
    """A loopback port with nothing listening on it: connections to it are refused at once."""

    def __enter__(self) -> int:
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))  # bound, never listening
        port: int = self.socket.getsockname()[1]
        return port

    def __exit__(self, *exception: object) -> None:
        self.socket.close()


# -- datasets at a prefix --------------------------------------------------------------------------


def _dataset_rows(run_cli: RunCli, source: str, tmp_path: Path) -> list[str]:
    """The dataset as articles reads it back: its records as JSON Lines, sorted."""
    out = tmp_path / f"read-{len(list(tmp_path.glob('read-*')))}.jsonl"
    result = run_cli("export", source, "--include", "*.parquet", "-o", str(out), "--isolated")
    assert result.exit_code == 0, result.stderr
    return sorted(out.read_text(encoding="utf-8").splitlines())


def _published(bucket: Bucket, prefix: str) -> list[str]:
    manifest = json.loads(bucket.get(prefix + "_articles_manifest.json"))
    assert manifest["written_by"] == "articles"
    return sorted(prefix + name for name in manifest["files"])


def test_a_dataset_in_a_bucket_reads_back_as_the_local_one(run_cli: RunCli, bucket: Bucket, tmp_path: Path) -> None:
    import pyarrow.dataset as ds
    import pyarrow.fs

    local = tmp_path / "local"
    options = ("--partition-by", "category", "--isolated")
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", str(local), *options).exit_code == 0
    result = run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("ds/"), *options)
    assert result.exit_code == 0, result.stderr
    assert _dataset_rows(run_cli, bucket.uri("ds/"), tmp_path) == _dataset_rows(run_cli, str(local), tmp_path)
    assert sorted(bucket.listed("ds/")) == sorted([*_published(bucket, "ds/"), "ds/_articles_manifest.json"])
    # An independent reader: pyarrow's own S3 client, on what the manifest names.
    endpoint = bucket.client.meta.endpoint_url
    s3 = pyarrow.fs.S3FileSystem(
        access_key="testing", secret_key="testing", region="us-east-1", endpoint_override=endpoint,
        scheme="http", allow_bucket_creation=False,
    )  # fmt: skip
    files = [f"{bucket.name}/{key}" for key in _published(bucket, "ds/")]
    table = ds.dataset(files, filesystem=s3, partitioning="hive", partition_base_dir=f"{bucket.name}/ds").to_table()
    assert table.num_rows == 5
    assert sorted(table.column("category").to_pylist()) == ["news", "news", "news", "news", "world"]


def test_a_second_export_replaces_the_first_and_sweeps_its_files(
    run_cli: RunCli, bucket: Bucket, tmp_path: Path
) -> None:
    options = ("--partition-by", "category", "--isolated")
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("ds/"), *options).exit_code == 0
    first = _published(bucket, "ds/")
    assert run_cli("export", str(REPO / "examples"), "-o", bucket.uri("ds/"), *options).exit_code == 0
    second = _published(bucket, "ds/")
    assert not set(first) & set(second)  # each run writes names of its own
    assert sorted(bucket.listed("ds/")) == sorted([*second, "ds/_articles_manifest.json"])
    assert len(_dataset_rows(run_cli, bucket.uri("ds/"), tmp_path)) == 2


def test_a_prefix_holding_objects_of_someone_else_is_refused(run_cli: RunCli, bucket: Bucket) -> None:
    bucket.put("ds/mine.txt", b"my notes\n")
    refused = run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("ds/"), "--partition-by", "category")
    assert refused.exit_code == 2
    assert "(mine.txt)" in refused.stderr
    assert bucket.listed() == ["ds/mine.txt"]
    forced = run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("ds/"), "--partition-by", "category", "--overwrite")
    assert forced.exit_code == 0
    assert "ds/mine.txt" not in bucket.listed()


def test_what_a_killed_run_left_is_ignored_by_readers_and_swept_by_the_next_run(
    run_cli: RunCli, bucket: Bucket, tmp_path: Path
) -> None:
    options = ("--partition-by", "category", "--isolated")
    assert run_cli("export", str(REPO / "examples"), "-o", bucket.uri("ds/"), *options).exit_code == 0
    # An upload of a run killed before its manifest: ours (marked), named by no manifest.
    stray = "ds/category=news/part-0-20260101T000000-deadbeef.parquet"
    bucket.put(stray, (bucket.get(_published(bucket, "ds/")[0])), metadata={"articles-output": "1"})
    assert len(_dataset_rows(run_cli, bucket.uri("ds/"), tmp_path)) == 2  # not 4: the stray is not read
    assert run_cli("export", str(REPO / "examples"), "-o", bucket.uri("ds/"), *options).exit_code == 0
    assert stray not in bucket.listed()


def test_a_run_that_loses_the_manifest_race_publishes_nothing(bucket: Bucket, tmp_path: Path) -> None:
    from converters.storage import Conflict, Uri, store_for
    from converters.storage.output import _Dataset

    folder = tmp_path / "built"
    (folder / "category=news").mkdir(parents=True)
    (folder / "category=news" / "part-0.parquet").write_bytes(b"PAR1 ours PAR1")
    uri = Uri.parse(bucket.uri("ds/"))
    store = store_for(uri)
    loser = _Dataset.at(uri, store, overwrite=False)  # saw no manifest at its start
    winner = _Dataset.at(uri, store, overwrite=False)
    winner.publish(str(folder))
    published = sorted(bucket.listed())
    with pytest.raises(Conflict, match="another export published there first"):
        loser.publish(str(folder))
    assert sorted(bucket.listed()) == published  # the loser's files are gone, the winner's manifest stands


def test_a_failed_upload_leaves_none_of_the_runs_files(bucket: Bucket, tmp_path: Path) -> None:
    from converters.storage import StorageError, Uri, store_for
    from converters.storage.output import UPLOADS_IN_FLIGHT, _Dataset

    folder = tmp_path / "built"
    for number in range(3 * UPLOADS_IN_FLIGHT):  # uploads in flight when one fails, and others not started
        (folder / f"category=c{number % 5}").mkdir(parents=True, exist_ok=True)
        (folder / f"category=c{number % 5}" / f"part-{number}.parquet").write_bytes(b"PAR1 ours PAR1")
    uri = Uri.parse(bucket.uri("ds/"))
    store = store_for(uri)
    upload, calls = store.upload, []

    def failing(path: str, *args: object, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == UPLOADS_IN_FLIGHT + 3:
            raise StorageError("the store refused it")
        upload(path, *args, **kwargs)  # type: ignore[arg-type]

    store.upload = failing  # type: ignore[method-assign]
    with pytest.raises(StorageError, match="refused"):
        _Dataset.at(uri, store, overwrite=False).publish(str(folder))
    assert len(calls) < 3 * UPLOADS_IN_FLIGHT  # the rest were not started
    assert bucket.listed("ds/") == []  # what did go up was deleted again


def test_two_exports_to_one_prefix_at_once_leave_one_whole(bucket: Bucket, tmp_path: Path) -> None:
    import os
    import subprocess

    from conftest import articles_script, many_articles

    many_articles(tmp_path / "a", 600, host="a")
    many_articles(tmp_path / "b", 900, host="b")
    command = [articles_script(), "export", "-o", bucket.uri("ds/"), "--partition-by", "category", "--isolated"]
    runs = [subprocess.Popen([*command, str(tmp_path / name)], stderr=subprocess.PIPE, env=os.environ) for name in "ab"]
    codes = [run.wait(timeout=300) for run in runs]
    assert 0 in codes
    assert set(codes) <= {0, 3}
    published = _published(bucket, "ds/")
    assert sorted(bucket.listed("ds/")) == sorted([*published, "ds/_articles_manifest.json"])
    out = tmp_path / "read.jsonl"
    assert subprocess.run([articles_script(), "export", bucket.uri("ds/"), "--include", "*.parquet", "-o", str(out),
                           "--isolated"], env=os.environ, check=False).returncode == 0  # fmt: skip
    assert len(out.read_text(encoding="utf-8").splitlines()) in (600, 900)


def test_a_sigkill_while_writing_to_a_bucket_leaves_the_old_output_or_the_whole_new_one(
    bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import random
    import signal
    import subprocess
    import time

    from conftest import articles_script, many_articles

    many_articles(tmp_path / "old", 200, host="old")
    many_articles(tmp_path / "new", 1500, host="new")
    # A killed run cannot remove its temporary upload files: they go here, not to the machine's /tmp.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    single = [articles_script(), "export", "-o", bucket.uri("out/a.jsonl"), "--isolated"]
    dataset = [articles_script(), "export", "-o", bucket.uri("ds/"), "--partition-by", "category", "--isolated"]
    for command in (single, dataset):
        assert subprocess.run([*command, str(tmp_path / "old")], env=os.environ, check=False).returncode == 0
    old = (bucket.get("out/a.jsonl"), _published(bucket, "ds/"))
    started = time.monotonic()
    assert subprocess.run([*dataset, str(tmp_path / "new")], env=os.environ, check=False).returncode == 0
    duration = time.monotonic() - started
    for command in (single, dataset):  # back to the old outputs, for the kills
        assert subprocess.run([*command, str(tmp_path / "old")], env=os.environ, check=False).returncode == 0
    old = (bucket.get("out/a.jsonl"), _published(bucket, "ds/"))
    for delay in random.Random(11).sample([duration * (k + random.random()) / 10 for k in range(10)], 10):
        command = single if delay < duration / 2 else dataset
        process = subprocess.Popen([*command, str(tmp_path / "new")], env=os.environ, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        text = bucket.get("out/a.jsonl")
        assert text == old[0] or len(text.splitlines()) == 1500, f"a partial object after a kill at {delay:.2f} s"
        published = _published(bucket, "ds/")
        assert published == old[1] or all(key in bucket.listed("ds/") for key in published)
        for command in (single, dataset):
            assert subprocess.run([*command, str(tmp_path / "old")], env=os.environ, check=False).returncode == 0
        old = (bucket.get("out/a.jsonl"), _published(bucket, "ds/"))
        assert sorted(bucket.listed("ds/")) == sorted([*old[1], "ds/_articles_manifest.json"])  # strays swept


def test_no_credentials_is_one_clear_line(
    run_process: RunProcess, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata to ask on this machine
    result = run_process("validate", bucket.uri("corpus/"), "--isolated")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"articles: error: {bucket.uri('corpus/')}: no credentials found "
        "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    ]


def test_the_next_run_aborts_an_upload_a_killed_run_left_unfinished(run_cli: RunCli, bucket: Bucket) -> None:
    bucket.client.create_multipart_upload(Bucket=bucket.name, Key="out/a.parquet")  # as a SIGKILL leaves it
    assert bucket.unfinished_uploads() == ["out/a.parquet"]
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("out/a.parquet"), "--isolated").exit_code == 0
    assert bucket.unfinished_uploads() == []


def test_an_output_inside_a_dataset_is_refused(run_cli: RunCli, bucket: Bucket, tmp_path: Path) -> None:
    invalid = str(CASES / "invalid" / "typo-key.md")
    for out, rejects in ((bucket.uri("ds/"), bucket.uri("ds/rejects.jsonl")), (tmp_path / "ds", tmp_path / "ds" / "r")):
        result = run_cli(
            "export", str(GOLDEN_CORPUS), invalid, "-o", str(out), "--partition-by", "category",
            "--on-invalid", "skip", "--rejects", str(rejects),
        )  # fmt: skip
        assert result.exit_code == 2
        assert "is inside the output directory" in result.stderr
    assert bucket.listed() == []


def test_another_output_of_ours_under_a_dataset_prefix_is_not_swept(run_cli: RunCli, bucket: Bucket) -> None:
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("ds/notes.jsonl")).exit_code == 0
    result = run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("ds/"), "--partition-by", "category")
    assert result.exit_code == 2
    assert "(notes.jsonl)" in result.stderr
    assert bucket.listed() == ["ds/notes.jsonl"]


def test_a_manifest_published_although_its_answer_was_lost_counts(
    bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from converters.storage import Conflict, Uri, store_for
    from converters.storage.output import _Dataset

    folder = tmp_path / "built"
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(b"PAR1 ours PAR1")
    uri = Uri.parse(bucket.uri("ds/"))
    store = store_for(uri)
    dataset = _Dataset.at(uri, store, overwrite=False)
    real_put = store.put_unless_changed

    def put_then_lose_the_answer(uri: Uri, body: bytes, tag: str | None, metadata: dict[str, str]) -> None:
        real_put(uri, body, tag, metadata)
        raise Conflict("the retry of a write that went through fails its condition")

    monkeypatch.setattr(store, "put_unless_changed", put_then_lose_the_answer)
    dataset.publish(str(folder))
    assert sorted(bucket.listed()) == sorted([*_published(bucket, "ds/"), "ds/_articles_manifest.json"])
    assert len(_published(bucket, "ds/")) == 1


def test_a_file_the_manifest_names_that_has_gone_is_an_error_not_a_shorter_dataset(
    run_cli: RunCli, bucket: Bucket, tmp_path: Path
) -> None:
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", bucket.uri("ds/"), "--partition-by", "category").exit_code == 0
    bucket.client.delete_object(Bucket=bucket.name, Key=_published(bucket, "ds/")[0])
    result = run_cli("export", bucket.uri("ds/"), "--include", "*.parquet", "-o", str(tmp_path / "x.jsonl"))
    assert result.exit_code == 1
    assert "cannot read object" in result.stderr


def test_a_uri_given_twice_or_inside_another_is_read_once(run_cli: RunCli, bucket: Bucket, corpus: Path) -> None:
    uri = _stored(bucket, corpus)
    once = _report(run_cli, uri)
    assert _report(run_cli, uri, uri.rstrip("/")) == once
    assert _report(run_cli, uri, uri + "golden/edge-minimal.md") == once


def test_folder_markers_are_not_files(run_cli: RunCli, bucket: Bucket) -> None:
    bucket.upload_folder(GOLDEN_CORPUS, "corpus/")
    bucket.put("corpus/sub/", b"")  # what a console's "create folder" makes
    result = run_cli("validate", bucket.uri("corpus/"), "--include", "*", "--isolated")
    assert result.exit_code == 0, result.stdout
    assert "5 files checked" in result.stdout


def test_an_object_put_there_after_the_check_is_not_overwritten(bucket: Bucket, tmp_path: Path) -> None:
    from converters.storage import Conflict
    from converters.storage.output import StoredOutput

    output = StoredOutput(bucket.uri("out/a.jsonl"))  # checked: nothing there
    output.open_file().write(b"{}\n")
    bucket.put("out/a.jsonl", b"somebody else's, meanwhile\n")
    with pytest.raises(Conflict):
        output.commit()
    output.discard()
    assert bucket.get("out/a.jsonl") == b"somebody else's, meanwhile\n"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AWS_PROFILE", "no-such-profile", "The config profile (no-such-profile) could not be found"),
        ("AWS_ENDPOINT_URL", "localhost:9000", "Invalid endpoint: localhost:9000"),
    ],
)
def test_a_bad_configuration_is_one_clear_line(
    run_process: RunProcess, bucket: Bucket, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = run_process("validate", bucket.uri("corpus/"), "--isolated")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"articles: error: {bucket.uri('corpus/')}: the S3 configuration cannot be used: ")
    assert message in line
