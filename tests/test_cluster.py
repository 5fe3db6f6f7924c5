"""--scheduler: the same runs on a real Dask cluster of separate processes give exactly the local results."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CASES, SEEDS, RunCli, articles_script, many_articles
from dask_cluster import Cluster
from s3_server import Bucket
from typer.testing import Result

FORMATS = ["jsonl", "json", "csv", "parquet", "rss"]
_TIMING = re.compile(r" in [0-9.]+ s$", re.MULTILINE)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """700 valid files in three chunks or more, the invalid cases, and a webUrl repeated chunks apart."""
    root = tmp_path_factory.mktemp("cluster") / "corpus"
    many_articles(root, 700)
    shutil.copytree(CASES / "invalid", root / "invalid", ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(root / "000" / "000005.md", root / "001" / "zz-same-url.md")
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


@pytest.mark.parametrize("data_format", [*FORMATS, "dataset"])
def test_every_export_is_byte_identical(
    run_cli: RunCli, dask_cluster: Cluster, corpus: Path, tmp_path: Path, data_format: str
) -> None:
    outputs = []
    for where, scheduler in (("local", []), ("cluster", ["--scheduler", dask_cluster.address])):
        out = tmp_path / where / (f"out.{data_format}" if data_format != "dataset" else "dataset")
        out.parent.mkdir()
        extra = ["--partition-by", "category"] if data_format == "dataset" else []
        result = run_cli(
            "export", str(corpus), "-o", str(out), *extra, "--on-invalid", "skip",
            "--rejects", str(out.parent / "rejects.jsonl"), "--isolated", *scheduler,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        outputs.append(_contents(out.parent))
    assert outputs[0] == outputs[1]


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_worker_killed_during_the_run_changes_nothing(run_cli: RunCli, dask_cluster: Cluster, tmp_path: Path) -> None:
    many_articles(tmp_path / "big", 4000)
    local = tmp_path / "local.parquet"
    assert run_cli("export", str(tmp_path / "big"), "-o", str(local), "--isolated").exit_code == 0
    doomed = dask_cluster.add_worker()
    dask_cluster.wait_for_workers(3)
    out = tmp_path / "cluster.parquet"
    command = [articles_script(), "export", str(tmp_path / "big"), "-o", str(out), "--isolated"]
    run = subprocess.Popen([*command, "--scheduler", dask_cluster.address], stderr=subprocess.PIPE)
    time.sleep(0.8)
    doomed.kill()
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
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


def test_no_scheduler_at_the_address_is_one_clear_line(run_cli: RunCli) -> None:
    from s3_server import _free_port

    address = f"tcp://127.0.0.1:{_free_port()}"
    result = run_cli("validate", str(SEEDS[0]), "--scheduler", address, "--isolated")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"articles: error: no Dask scheduler answers at {address}")


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
