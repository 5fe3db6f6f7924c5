"""Chunks as tasks on a Dask cluster: the same chunk function as the local process pool, run elsewhere.

The driver (this process) walks the paths, cuts them into the same chunks a
local run cuts, submits each as a task, and takes the results back in input
order; the corpus-wide checks (duplicate webUrls, --max-errors) and the
writing stay here, as in a local run. So a run on a cluster gives exactly
what a local run gives: only where the chunks are checked differs.

A task carries the chunk function, the set-up and its arguments; a worker
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

# Tasks in flight per worker thread: enough to keep every worker busy while results come back in order.
TASKS_IN_FLIGHT_PER_THREAD = 4
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
) -> Iterator[Result]:
    """`func` over each chunk as a task on the cluster at `address`; results in chunk order."""
    client = _connect(address)
    try:
        token = uuid.uuid4().hex
        in_flight = max(1, sum(client.nthreads().values())) * TASKS_IN_FLIGHT_PER_THREAD
        pending: deque[tuple[Any, dict[str, str]]] = deque()
        first = True
        try:
            for chunk in chunks:
                if first:
                    _check_workers_can_read(client, chunk, address)
                    first = False
                absolute, names = _absolute(chunk)
                task = client.submit(_run_chunk, token, func, initializer, initargs, absolute, pure=False)
                pending.append((task, names))
                if len(pending) >= in_flight:
                    yield _result(*pending.popleft(), address)
            while pending:
                yield _result(*pending.popleft(), address)
        finally:
            for future, _ in pending:
                future.cancel()
    finally:
        client.close()


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


def _result(future: Any, names: dict[str, str], address: str) -> Any:
    """A task's result, its files named as the driver was given them."""
    result = _awaited(future, address)
    return result.renamed(names) if names and hasattr(result, "renamed") else result


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
    """A local path the workers cannot see would fail every file: say so once, before the run."""
    local = next((item for item in chunk if isinstance(item, str) and "://" not in item), None)
    if local is None:
        return
    path = os.path.abspath(local)
    if not _awaited(client.submit(os.path.exists, path, pure=False), address):
        raise ClusterError(
            f"the Dask workers cannot read {local}: put the corpus where they can (a shared file system, "
            "or object storage such as s3://)"
        )


_ready: str | None = None  # the token of the run this worker process is set up for


def _run_chunk(
    token: str,
    func: Callable[[list[Any]], Any],
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    chunk: list[Any],
) -> Any:
    """One task: set up once per run in this worker process, then check the chunk."""
    global _ready
    if _ready != token:
        initializer(*initargs)
        _ready = token
    return func(chunk)
