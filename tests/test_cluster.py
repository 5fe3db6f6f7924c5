"""--scheduler: the same runs on a real Dask cluster of separate processes give exactly the local results."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES, REPO, SEEDS, RunCli, articles_script, many_articles
from dask_cluster import Cluster
from s3_server import Bucket
from typer.testing import Result

FORMATS = ["jsonl", "json", "csv", "parquet", "rss"]
_TIMING = re.compile(r" in [0-9.]+ s$", re.MULTILINE)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,600 valid files in 11 chunks or more (two tasks or more: the first of 8 chunks), the invalid cases, a
    webUrl repeated in the first task's chunk 0 and the second task's chunk 9, and a few categories."""
    root = tmp_path_factory.mktemp("cluster") / "corpus"
    many_articles(root, 2600)
    for number, path in enumerate(sorted(root.rglob("*.md"))):
        if number % 7 == 0:  # a few partitions for the datasets
            path.write_text(path.read_text(encoding="utf-8").replace("category: ", f"category: c{number % 3}", 1))
    shutil.copytree(CASES / "invalid", root / "invalid", ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(root / "000" / "000005.md", root / "004" / "zz-same-url.md")
    shutil.copy(SEEDS[0], root / "seed.txt")
    return root


def _both(run_cli: RunCli, cluster: Cluster, *args: str) -> tuple[Result, Result]:
    local = run_cli(*args, "--isolated")
    remote = run_cli(*args, "--isolated", "--scheduler", cluster.address)
    return local, remote


@pytest.mark.parametrize("report", ["json", "text", "sarif"])
def test_the_report_is_the_local_report(run_cli: RunCli, dask_cluster: Cluster, corpus: Path, report: str) -> None:
    local, remote = _both(run_cli, dask_cluster, "validate", str(corpus), "-f", report, "-j", "2")
    assert remote.exit_code == local.exit_code == 1
    if report == "json":
        findings = json.loads(local.stdout)["errors"]
        assert any(f["keyword"] == "unique" and "zz-same-url.md" in f["file"] for f in findings)
    assert _TIMING.sub("", remote.stdout) == _TIMING.sub("", local.stdout)


def test_max_errors_stops_where_the_local_run_stops(run_cli: RunCli, dask_cluster: Cluster, corpus: Path) -> None:
    local, remote = _both(run_cli, dask_cluster, "validate", str(corpus), "-f", "json", "--max-errors", "7")
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    assert json.loads(local.stdout)["stopped"] is True


@pytest.mark.parametrize("data_format", FORMATS)
def test_every_export_is_byte_identical(
    run_cli: RunCli, dask_cluster: Cluster, corpus: Path, tmp_path: Path, data_format: str
) -> None:
    outputs = []
    for where, scheduler in (("local", []), ("cluster", ["--scheduler", dask_cluster.address])):
        out = tmp_path / where / f"out.{data_format}"
        out.parent.mkdir()
        result = run_cli(
            "export", str(corpus), "-o", str(out), "--on-invalid", "skip",
            "--rejects", str(out.parent / "rejects.jsonl"), "--isolated", *scheduler,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        outputs.append(_contents(out.parent))
    assert outputs[0] == outputs[1]


def test_a_dataset_is_the_local_dataset(run_cli: RunCli, dask_cluster: Cluster, corpus: Path, tmp_path: Path) -> None:
    for where, scheduler in (("local", []), ("cluster", ["--scheduler", dask_cluster.address])):
        (tmp_path / where).mkdir()
        result = run_cli(
            "export", str(corpus), "-o", str(tmp_path / where / "dataset"), "--partition-by", "category",
            "--on-invalid", "skip", "--rejects", str(tmp_path / where / "rejects.jsonl"), "--isolated", *scheduler,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
    local, cluster = (_dataset(tmp_path / where / "dataset") for where in ("local", "cluster"))
    assert cluster.schema.equals(local.schema, check_metadata=True)
    assert cluster.to_pylist() == local.to_pylist()  # the same rows in the same order, the duplicate left out once
    assert (tmp_path / "cluster" / "rejects.jsonl").read_bytes() == (tmp_path / "local" / "rejects.jsonl").read_bytes()
    parts = {
        str(path.relative_to(tmp_path / "cluster" / "dataset")) for path in (tmp_path / "cluster").rglob("*.parquet")
    }
    # "news", over 256 rows a task: each task's part, written by its worker (the second one without the
    # duplicate, written again by the driver); the small categories: the driver's, named by their first task.
    assert parts == {
        "category=news/part-00000000.parquet", "category=news/part-00000008.parquet",
        "category=c0news/part-00000000.parquet", "category=c1news/part-00000000.parquet",
        "category=c2news/part-00000000.parquet",
    }  # fmt: skip


@pytest.mark.parametrize("column", ["category", "published_date"])
def test_every_shape_of_task_gives_the_local_dataset(
    run_cli: RunCli, dask_cluster: Cluster, tmp_path: Path, column: str
) -> None:
    """Chunk 3 has no valid row; task 0's last chunk (7) holds only duplicates of chunk 0; chunk 9 repeats
    webUrls of chunk 8 (one task), chunk 17 those of chunk 1 (two tasks); chunk 11 is half invalid. Five
    categories, one of them small, then large, then small again; and days, each small in every task."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = SEEDS[1].read_text(encoding="utf-8")
    for n in range(4700):  # 19 chunks, 3 tasks
        chunk, source = n // 256, n
        if chunk == 7:
            source = n - 7 * 256
        elif (chunk == 9 and n % 3 == 0) or (chunk == 17 and n % 5 == 0):
            source = n - (256 if chunk == 9 else 16 * 256)
        text = seed.replace('webUrl: "https://', f'webUrl: "https://n{source}.', 1)
        category = "news" if n < 1000 or n % 2 else f"c{(n * 7) % 5}"
        if 2048 <= n < 4096 and n % 4 == 0:
            category = "c0"  # small in the first task and the last, large in the second
        text = text.replace("category: news", f"category: {category}", 1)
        text = text.replace(
            "publishedDateTime: 2023-08-04", f"publishedDateTime: 2023-0{1 + n % 9}-{1 + n * 13 % 28:02d}"
        )
        if chunk == 3 or (chunk == 11 and n % 2):
            text = text.replace("\nquality: ", "\nquality: x", 1)
        (corpus / f"{n:06d}.md").write_text(text, encoding="utf-8")
    outcomes = []
    for where, scheduler in (("local", []), ("cluster", ["--scheduler", dask_cluster.address])):
        (tmp_path / where).mkdir()
        result = run_cli(
            "export", str(corpus), "-o", str(tmp_path / where / "ds"), "--partition-by", column,
            "--on-invalid", "skip", "--rejects", str(tmp_path / where / "rejects.jsonl"), "--isolated", *scheduler,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        last = result.stderr.splitlines()[-1]  # wrote N records to OUT (SIZE); N rejected; N files in S
        counted = (last.split(" to ")[0], _TIMING.sub("", last).split("; ", 1)[1])
        files = len(list((tmp_path / where / "ds").rglob("*.parquet")))
        outcomes.append((counted, (tmp_path / where / "rejects.jsonl").read_bytes(), files))
    local, cluster = (_dataset(tmp_path / where / "ds") for where in ("local", "cluster"))
    assert cluster.schema.equals(local.schema, check_metadata=True)
    assert cluster.to_pylist() == local.to_pylist()
    assert outcomes[1][:2] == outcomes[0][:2]  # the summary line, the rejects
    assert outcomes[1][2] <= outcomes[0][2] + 3 * 5  # at most a part per task and large partition more


def _dataset(root: Path) -> Any:
    """The dataset as pyarrow's own dataset reader reads it, files in name order (as the manifest lists them)."""
    import pyarrow.dataset as ds

    listed = json.loads((root / "_articles_manifest.json").read_text(encoding="utf-8"))["files"]
    files = [str(root / name) for name in sorted(listed) if name.endswith(".parquet")]
    return ds.dataset(files, partitioning="hive", partition_base_dir=str(root)).to_table()


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("dataset", [False, True], ids=["file", "dataset"])
def test_a_worker_killed_during_the_run_changes_nothing(
    run_cli: RunCli, dask_cluster: Cluster, tmp_path: Path, dataset: bool
) -> None:
    many_articles(tmp_path / "big", 6200)  # 25 chunks, 4 tasks: one for each of the 3 workers at the start
    extra = ["--partition-by", "published_date"] if dataset else []
    local = tmp_path / ("local" if dataset else "local.parquet")
    assert run_cli("export", str(tmp_path / "big"), "-o", str(local), *extra, "--isolated").exit_code == 0
    doomed = dask_cluster.add_worker()
    dask_cluster.wait_for_workers(3)
    out = tmp_path / ("cluster" if dataset else "cluster.parquet")
    command = [articles_script(), "export", str(tmp_path / "big"), "-o", str(out), *extra, "--isolated"]
    run = subprocess.Popen([*command, "--scheduler", dask_cluster.address], stderr=subprocess.PIPE)
    time.sleep(0.8)
    doomed.kill()
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    if dataset:
        assert _dataset(out).to_pylist() == _dataset(local).to_pylist()
    else:
        assert out.read_bytes() == local.read_bytes()


def test_a_corpus_in_a_bucket_is_read_by_the_workers(
    run_cli: RunCli, dask_cluster: Cluster, bucket: Bucket, tmp_path: Path
) -> None:
    from conftest import GOLDEN_CORPUS

    bucket.upload_folder(GOLDEN_CORPUS, "corpus/")
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    assert run_cli("export", str(GOLDEN_CORPUS), "-o", str(local), "--isolated").exit_code == 0
    result = run_cli(
        "export", bucket.uri("corpus/"), "-o", str(remote), "--isolated", "--scheduler", dask_cluster.address
    )
    assert result.exit_code == 0, result.stderr
    assert remote.read_bytes() == local.read_bytes()


def test_a_dataset_in_a_bucket_written_on_the_cluster_is_the_local_one(
    run_cli: RunCli, dask_cluster: Cluster, bucket: Bucket, tmp_path: Path
) -> None:
    from conftest import GOLDEN_CORPUS

    bucket.upload_folder(GOLDEN_CORPUS, "corpus/")
    tables = []
    for where, scheduler in (("local", []), ("cluster", ["--scheduler", dask_cluster.address])):
        result = run_cli(
            "export", bucket.uri("corpus/"), "-o", bucket.uri(f"out/{where}"), "--partition-by", "category",
            "--isolated", *scheduler,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        copy = tmp_path / where  # read back through the manifest, as articles reads a dataset
        manifest = bucket.get(f"out/{where}/_articles_manifest.json")
        for name in json.loads(manifest)["files"]:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes(bucket.get(f"out/{where}/{name}"))
        (copy / "_articles_manifest.json").write_bytes(manifest)
        tables.append(_dataset(copy))
    assert tables[1].schema.equals(tables[0].schema, check_metadata=True)
    assert tables[1].to_pylist() == tables[0].to_pylist()


def test_no_scheduler_at_the_address_is_one_clear_line(run_cli: RunCli) -> None:
    from s3_server import _free_port

    address = f"tcp://127.0.0.1:{_free_port()}"
    result = run_cli("validate", str(SEEDS[0]), "--scheduler", address, "--isolated")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"articles: error: no Dask scheduler answers at {address}")


def test_workers_without_the_stores_credentials_are_one_clear_line(run_cli: RunCli, bucket: Bucket) -> None:
    import os

    from dask_cluster import started_cluster

    bucket.upload_folder(REPO / "examples", "corpus/")
    secret = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    environment = {name: value for name, value in os.environ.items() if name not in secret}
    environment.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent")
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    cluster = started_cluster(environment)
    blind = next(cluster)
    try:
        result = run_cli("validate", bucket.uri("corpus/"), "--isolated", "--scheduler", blind.address)
    finally:
        cluster.close()
    assert result.exit_code == 2, result.stderr  # not a finding per file, each "cannot read object"
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"articles: error: a Dask worker cannot read {bucket.uri('corpus/')}")
    assert "no credentials" in line


def test_workers_of_several_threads_give_the_local_results(run_cli: RunCli, tmp_path: Path) -> None:
    import os

    from dask_cluster import started_cluster

    corpus = tmp_path / "corpus"
    many_articles(corpus, 6000)  # two files read at once in one process took each other's records, now and then
    shutil.copy(corpus / "000" / "000005.md", corpus / "011" / "zz-same-url.md")
    # dask worker starts a thread per core unless told otherwise: a task per thread, in one process.
    cluster = started_cluster(dict(os.environ), threads=2)
    threaded = next(cluster)
    try:
        reports = [
            run_cli("validate", str(corpus), "-f", "json", "--isolated", *scheduler).stdout
            for scheduler in ([], ["--scheduler", threaded.address])
        ]
        remote = tmp_path / "remote.jsonl"
        exported = run_cli("export", str(corpus), "-o", str(remote), "--on-invalid", "skip", "--rejects",
                           str(tmp_path / "rejects.jsonl"), "--isolated", "--scheduler", threaded.address)  # fmt: skip
    finally:
        cluster.close()
    assert reports[1] == reports[0]
    assert exported.exit_code == 0, exported.stderr
    local = tmp_path / "local.jsonl"
    assert run_cli("export", str(corpus), "-o", str(local), "--on-invalid", "skip", "--rejects",
                   str(tmp_path / "local-rejects.jsonl"), "--isolated").exit_code == 0  # fmt: skip
    assert remote.read_bytes() == local.read_bytes()


def test_the_scheduler_going_away_is_exit_3_and_the_old_output_stays(tmp_path: Path) -> None:
    import os

    from dask_cluster import started_cluster

    many_articles(tmp_path / "big", 15000)  # several seconds of tasks: the kill lands while they run
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"")  # an empty file is replaced freely: the old output here
    assert subprocess.run([articles_script(), "export", str(SEEDS[0]), "-o", str(out)], check=False).returncode == 0
    old = out.read_bytes()
    cluster = started_cluster(dict(os.environ))
    doomed = next(cluster)
    try:
        command = [articles_script(), "export", str(tmp_path / "big"), "-o", str(out), "--isolated"]
        run = subprocess.Popen([*command, "--scheduler", doomed.address], stderr=subprocess.PIPE, text=True)
        _wait_for_tasks(doomed.address)
        doomed.processes[0].kill()  # the scheduler
        _, stderr = run.communicate(timeout=300)
    finally:
        cluster.close()
    assert run.returncode == 3, stderr
    assert "went away" in stderr or "cluster" in stderr
    assert "Traceback" not in stderr
    assert out.read_bytes() == old


def _wait_for_tasks(address: str, seconds: float = 120) -> None:
    """Until the run has tasks on the cluster: a kill before would only test connecting."""
    from distributed import Client

    with Client(address, timeout="10s", set_as_default=False) as client:  # type: ignore[no-untyped-call]
        deadline = time.monotonic() + seconds
        while not any(client.processing().values()):
            assert time.monotonic() < deadline, "the run never submitted a task"
            time.sleep(0.05)


def test_a_local_path_the_workers_cannot_see_is_one_clear_line(run_cli: RunCli, tmp_path: Path) -> None:
    """The worker runs in a mount namespace of its own, where an empty file system hides the corpus."""
    import os

    from dask_cluster import _dask
    from s3_server import _free_port, _wait_until_listening

    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("hiding a folder from one process takes unshare, as root")
    many_articles(tmp_path / "hidden" / "corpus", 3)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([_dask(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    hidden = (
        f"mount -t tmpfs tmpfs {tmp_path / 'hidden'} && exec {_dask()} worker {address} --nthreads 1 --no-dashboard"
    )
    worker = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", hidden],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_until_listening(port, scheduler)
        result = run_cli("validate", str(tmp_path / "hidden" / "corpus"), "--scheduler", address, "--isolated")
    finally:
        worker.terminate()
        scheduler.terminate()
        worker.wait(timeout=30)
        scheduler.wait(timeout=30)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"articles: error: the Dask workers cannot read {tmp_path / 'hidden' / 'corpus'}")


def test_relative_paths_are_named_as_given(
    run_cli: RunCli, dask_cluster: Cluster, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(corpus.parent)
    local, remote = _both(run_cli, dask_cluster, "validate", corpus.name, "-f", "json")
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    assert json.loads(local.stdout)["errors"][0]["file"].startswith(f"{corpus.name}/")
