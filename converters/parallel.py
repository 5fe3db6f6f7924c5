"""Map a function over a stream across processes, keeping input order and bounded memory."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported when workers start: a run over a few files never needs them (10 ms)
    from concurrent.futures import Future, ProcessPoolExecutor

Item = TypeVar("Item")
Result = TypeVar("Result")

# Below this many items, starting worker processes costs more than it saves.
SERIAL_THRESHOLD = 256
# Each chunk costs a round trip through the executor's queues and threads, and an export's
# encoder a fixed cost per batch: at 256 items rather than 64, `validate` used about 8% less
# CPU on the benchmark corpus. Larger chunks gained nothing more, and hold more in flight.
CHUNK_SIZE = 256
# Enough that the workers keep going while the main process is busy for a while: writing a
# Parquet row group of 10,000 rows takes it about 0.1 s, in which two workers with a warm cache
# get through about 7,000 files. With 4 chunks each and nothing more, they waited for it, and a
# warm export took 12% longer. The extra chunks are shared, not per worker: an export's chunk in
# flight is about 0.7 MB, and with many workers the main process is the bottleneck anyway.
CHUNKS_IN_FLIGHT_PER_WORKER = 4
CHUNKS_IN_FLIGHT_EXTRA = 24
# 1 MiB: Linux's default ceiling for an unprivileged process (/proc/sys/fs/pipe-max-size).
RESULT_PIPE_SIZE = 1 << 20
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_chunks(
    func: Callable[[list[Item]], Result],
    items: Iterable[Item],
    *,
    jobs: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
    chunk_size: int = CHUNK_SIZE,
    scheduler: str | None = None,
    finish: Callable[[list[Result], int], list[Result]] | None = None,
) -> Generator[Result, None, None]:
    """`func` over the items in chunks of `chunk_size`, across `jobs` processes; results in input order.

    At most CHUNKS_IN_FLIGHT_PER_WORKER chunks per worker, and CHUNKS_IN_FLIGHT_EXTRA
    more, are in flight, so a million inputs never sit in memory at once. `initializer(*initargs)` sets up
    each process (and this one, when the work is small enough to do here). The chunks are the same
    whatever `jobs` is, so a function that sums up a chunk gives the same
    results serially and in parallel. With `scheduler`, the address of a Dask
    cluster, the same chunks run there as tasks instead (see converters.cluster),
    whatever their number, a few chunks a task, and `finish` (if given) on each
    task's results there.
    """
    iterator = iter(items)
    head = list(islice(iterator, SERIAL_THRESHOLD))
    chunks = _chunks(head, iterator, chunk_size)
    if scheduler is not None:
        from converters.cluster import cluster_chunks

        yield from cluster_chunks(func, chunks, scheduler, initializer, initargs, finish)
        return
    if jobs <= 1 or len(head) < SERIAL_THRESHOLD:
        initializer(*initargs)
        yield from map(func, chunks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with (
        _collector_frozen(),
        ProcessPoolExecutor(jobs, context, _init_worker, (initializer, initargs, os.getpid())) as pool,
    ):
        _widen_result_pipe(pool)
        pending: deque[Future[Result]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(func, chunk))
                if len(pending) >= jobs * CHUNKS_IN_FLIGHT_PER_WORKER + CHUNKS_IN_FLIGHT_EXTRA:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


@contextlib.contextmanager
def _collector_frozen() -> Iterator[None]:
    """Keep the objects that exist before the workers start out of Python's cyclic garbage collections
    until the run ends, in this process and in the forked workers (gc.freeze).

    They are the imported modules and the run's set-up, and none of them dies
    during the run; every full collection walked them all again. Results come
    and go by the hundred thousand, and set those collections off: a run
    with a warm cache took 5% less time with them frozen. The forked workers
    also keep sharing those pages with this process, where a collection
    would have written to them.
    """
    frozen_before = gc.get_freeze_count()  # a program that calls the library may have frozen its own
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def _widen_result_pipe(pool: ProcessPoolExecutor) -> None:
    """Let the pipe that carries results back hold RESULT_PIPE_SIZE bytes, where Linux gives 64 KiB.

    An export's chunk comes back as 150 KB or more of encoded records: through a
    64 KiB pipe, every worker stopped two or three times a chunk until the
    main process read on, and the runs took 10% longer. The pipe is the
    executor's own (a private attribute), so this is a best effort: anything
    unexpected leaves the pipe as it was.
    """
    if sys.platform != "linux":
        return
    import fcntl  # a Unix module; F_SETPIPE_SZ is Linux's

    reader = getattr(getattr(pool, "_result_queue", None), "_reader", None)
    if reader is None:
        return
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):  # e.g. over pipe-max-size
        fcntl.fcntl(reader.fileno(), fcntl.F_SETPIPE_SZ, RESULT_PIPE_SIZE)


def _chunks(head: list[Item], rest: Iterator[Item], size: int) -> Iterator[list[Item]]:
    for start in range(0, len(head), size):
        yield head[start : start + size]
    while chunk := list(islice(rest, size)):
        yield chunk


def _init_worker(initializer: Callable[..., None], initargs: tuple[Any, ...], parent: int) -> None:
    # Ctrl-C is the parent's to handle: workers would otherwise each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    initializer(*initargs)


def _die_with(parent: int) -> None:
    """End this worker when the parent dies, even by SIGKILL.

    A worker waits on a queue whose other end it also holds (fork copies it),
    so it would never see the parent go, and would wait forever.
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
