"""A load's commit, which an interrupt must never cut short: once begun, the load is done, and says so."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM are noted, not acted on, inside the block (the signals noted are yielded).

    A commit is one call into the database. An interrupt that arrived during it
    was raised as soon as the call returned, committed or not, and the command
    then said that nothing was loaded; DuckDB, which checks for interrupts
    itself, stopped its commit half way and raised its own error. With the
    interrupt held, the commit finishes and the load reports what it did.
    Python runs signal handlers in the main thread only: elsewhere, nothing is
    held (and nothing there is interrupted either).
    """
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return

    def note(number: int, frame: FrameType | None) -> None:
        noted.append(number)

    before = {number: signal.getsignal(number) for number in _INTERRUPTS}
    for number in _INTERRUPTS:
        signal.signal(number, note)
    try:
        yield noted
    finally:
        for number, handler in before.items():
            # None: a handler not set from Python, which Python cannot set back; the default is the nearest.
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
