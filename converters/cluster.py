"""Chunks as tasks on a Dask cluster: the same chunk function as the local process pool, run elsewhere.

The driver (this process) walks the paths, cuts them into the same chunks a
local run cuts, submits them as tasks of a few chunks each, and takes the
results back in input order; the corpus-wide checks (duplicate webUrls,
--max-errors) and the writing stay here, as in a local run. So a run on a
cluster gives exactly what a local run gives: only where the chunks are
checked differs. (A Parquet dataset's large part files are the one thing a
task makes of all its chunks at once: see Encoder.task.)

A task carries the chunk function, the set-up and its chunks; a worker
process sets up once per run (keyed by the run's token), however many of its
tasks it runs. Dask reruns the tasks of a worker that dies, and a chunk's
result does not depend on where it ran.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from converters.discover import InputError

Item = TypeVar("Item")
Result = TypeVar("Result")

# Chunks per task: every task costs the driver a round trip through the scheduler and a worker, so a task
# carries several of the chunks the process pool takes one by one (the same chunks, checked the same way).
CHUNKS_PER_TASK = 8
# Tasks in flight per worker thread: enough to keep every worker busy while results come back in order.
TASKS_IN_FLIGHT_PER_THREAD = 2
CONNECT_TIMEOUT = "10s"
_SCHEMES = ("tcp", "tls", "ws", "wss", "inproc", "ucx")


class ClusterError(InputError):
    """The cluster cannot be used: no scheduler at the address, or workers that cannot see the input."""


def cluster_chunks(
    func: Callable[[list[Item]], Result],
    chunks: Iterable[list[Item]],
    address: str,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    finish: Callable[[list[Result], int], list[Result]] | None = None,
) -> Iterator[Result]:
    """`func` over each chunk, a few chunks a task on the cluster at `address`; results in chunk order.
    `finish(results, number)`, if given, runs in the worker on a task's results, `number` the task's first
    chunk's (counting from 0), and returns them, for what is done once per task (Encoder.task)."""
    client = _connect(address)
    try:
        token = uuid.uuid4().hex
        in_flight = max(1, sum(client.nthreads().values())) * TASKS_IN_FLIGHT_PER_THREAD
        pending: deque[tuple[Any, list[dict[str, str]]]] = deque()
        number = 0  # of the task's first chunk
        try:
            for group in _groups(chunks, CHUNKS_PER_TASK):
                if number == 0:
                    _check_workers_can_read(client, group[0], address)
                absolute, names = zip(*map(_absolute, group), strict=True)
                run = (token, func, initializer, initargs, finish)
                task = client.submit(_run_chunks, *run, list(absolute), number, pure=False)
                pending.append((task, list(names)))
                number += len(group)
                if len(pending) >= in_flight:
                    yield from _results(*pending.popleft(), address)
            while pending:
                yield from _results(*pending.popleft(), address)
        finally:
            for future, _ in pending:
                future.cancel()
    finally:
        client.close()


def _groups(chunks: Iterable[list[Item]], size: int) -> Iterator[list[list[Item]]]:
    group: list[list[Item]] = []
    for chunk in chunks:
        group.append(chunk)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _connect(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError as error:
        raise ClusterError(
            f"--scheduler needs the dask extra: pip install 'articles[dask]' ({error.name} is missing)"
        ) from error
    # distributed logs a lost connection with its traceback; ours is the one line the user gets.
    # Its loggers set their own levels, so each one is silenced, and the parents for those made later.
    noisy = [name for name in logging.root.manager.loggerDict if name.split(".")[0] in ("distributed", "tornado")]
    for name in ["distributed", "tornado", *noisy]:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    scheme, separator, _ = address.partition("://")
    if not address.strip() or (separator and scheme not in _SCHEMES):
        raise ClusterError(f"--scheduler {address!r} is no Dask address: give tcp://HOST:PORT")
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"no Dask scheduler answers at {address}: {error}") from error


def _results(future: Any, names: list[dict[str, str]], address: str) -> Iterator[Any]:
    """A task's results, a chunk's each, their files named as the driver was given them."""
    for result, renamed in zip(_awaited(future, address), names, strict=True):
        yield result.renamed(renamed) if renamed and hasattr(result, "renamed") else result


def _awaited(future: Any, address: str) -> Any:
    """A task's value; the scheduler gone is an OSError (exit 3: nothing was written)."""
    from distributed.client import FutureCancelledError

    try:
        return future.result()
    except (FutureCancelledError, TimeoutError, OSError) as error:  # CommClosedError is an OSError
        raise OSError(f"the Dask cluster at {address} went away during the run") from error


def _absolute(chunk: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """The chunk with relative local paths made absolute, for workers whose directory is not ours,
    and each absolute path -> the name the driver was given."""
    names: dict[str, str] = {}
    absolute: list[Any] = []
    for item in chunk:
        if isinstance(item, str) and "://" not in item and item != "-" and not os.path.isabs(item):
            names[os.path.abspath(item)] = item
            item = os.path.abspath(item)
        absolute.append(item)
    return absolute, names


def _check_workers_can_read(client: Any, chunk: list[Any], address: str) -> None:
    """A path or object the workers cannot read would fail every file: say so once, before the run."""
    first = next((item for item in chunk if isinstance(item, str) and item != "-"), None)
    if first is None:
        return
    local = "://" not in first
    problem = _awaited(client.submit(_why_unreadable, os.path.abspath(first) if local else first, pure=False), address)
    if problem is None:
        return
    if local:
        raise ClusterError(
            f"the Dask workers cannot read {first}: put the corpus where they can (a shared file system, "
            "or object storage such as s3://)"
        )
    raise ClusterError(f"a Dask worker cannot read {problem}: the workers need the store's settings too (AWS_*)")


def _why_unreadable(item: str) -> str | None:
    """On a worker: None when it can read `item` (a path, or an object's URI), else why not."""
    if "://" not in item:
        return None if os.path.exists(item) else "missing"
    from converters.storage import StorageError, Uri, store_for

    try:
        uri = Uri.parse(item)
        store_for(uri).head(uri)
    except (StorageError, ImportError) as error:
        return str(error)
    return None


_ready: str | None = None  # the token of the run this worker process is set up for


def _run_chunks(
    token: str,
    func: Callable[[list[Any]], Any],
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    finish: Callable[[list[Any], int], list[Any]] | None,
    chunks: list[list[Any]],
    number: int,
) -> list[Any]:
    """One task: set up once per run in this worker process, then check the chunks, one by one."""
    global _ready
    if _ready != token:
        initializer(*initargs)
        _ready = token
    results = [func(chunk) for chunk in chunks]
    return finish(results, number) if finish is not None else results
