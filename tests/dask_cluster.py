"""A real Dask cluster for the tests: a `dask scheduler` and two `dask worker` processes on loopback.

Started by the first test that needs it and stopped with the session. The
workers get the test S3 server's settings, as a cluster's workers get their
store's, so that they can read a corpus in the test bucket. Without the dask
extra the tests that need it skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

import pytest
from s3_server import CREDENTIALS, _free_port, _missing, _wait_until_listening


@dataclass
class Cluster:
    address: str
    environment: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, threads: int = 1) -> subprocess.Popen[bytes]:
        """One more worker process, one thread unless told, as a run's own to kill."""
        worker = subprocess.Popen(
            [_dask(), "worker", self.address, "--nthreads", str(threads), "--no-dashboard", "--host", "127.0.0.1"],
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(worker)
        return worker

    def wait_for_workers(self, count: int, seconds: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout="10s", set_as_default=False) as client:  # type: ignore[no-untyped-call]
            client.wait_for_workers(count, timeout=seconds)


def _dask() -> str:
    found = shutil.which("dask", path=os.path.dirname(sys.executable))
    if found is None:
        _missing("no Dask cluster: the dask command is not installed (pip install 'articles[dask]')")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def dask_cluster(s3_endpoint: str) -> Iterator[Cluster]:
    yield from started_cluster({**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint})


def started_cluster(environment: dict[str, str], threads: int = 1) -> Generator[Cluster, None, None]:
    """A scheduler and two workers of `threads` threads, stopped when the generator is closed."""
    try:
        import distributed  # noqa: F401 - only to know that a client can connect
    except ImportError as error:
        _missing(f"no Dask cluster: distributed is not installed ({error.name} is missing)")
    port = _free_port()
    scheduler = subprocess.Popen(
        [_dask(), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cluster = Cluster(f"tcp://127.0.0.1:{port}", environment, [scheduler])
    try:
        _wait_until_listening(port, scheduler)
        cluster.add_worker(threads)
        cluster.add_worker(threads)
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            process.terminate()
        deadline = time.monotonic() + 30
        for process in cluster.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
