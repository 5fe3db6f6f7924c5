"""ordered_chunks: input order kept, whatever the number of processes; the result pipe widened."""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from converters.parallel import RESULT_PIPE_SIZE, SERIAL_THRESHOLD, _widen_result_pipe, ordered_chunks


def _lengths(chunk: list[str]) -> list[int]:
    return [len(item) for item in chunk]


def _nothing() -> None:
    pass


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_results_come_back_in_input_order(jobs: int) -> None:
    items = ["x" * (n % 97) for n in range(SERIAL_THRESHOLD * 4 + 13)]
    results = list(ordered_chunks(_lengths, items, jobs=jobs, initializer=_nothing, chunk_size=10))
    serial = list(ordered_chunks(_lengths, items, jobs=1, initializer=_nothing, chunk_size=10))
    assert [n for chunk in results for n in chunk] == [len(item) for item in items]
    assert [len(chunk) for chunk in results] == [len(chunk) for chunk in serial]  # the same chunks, whatever jobs is
    assert max(len(chunk) for chunk in results) == 10


@pytest.mark.skipif(sys.platform != "linux", reason="F_SETPIPE_SZ is Linux's")
def test_the_result_pipe_is_widened() -> None:
    """A canary: the pipe belongs to the executor, and a new Python could rename it."""
    import fcntl

    if int(Path("/proc/sys/fs/pipe-max-size").read_text()) < RESULT_PIPE_SIZE:
        pytest.skip("this machine caps pipes below RESULT_PIPE_SIZE")
    with ProcessPoolExecutor(1, multiprocessing.get_context("fork")) as pool:
        _widen_result_pipe(pool)
        reader = pool._result_queue._reader  # type: ignore[attr-defined]
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ) == RESULT_PIPE_SIZE
