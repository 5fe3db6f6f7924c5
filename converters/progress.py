"""A one-line progress counter on stderr, for runs long enough to need one."""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """Shows `checked N files (R/s)` once a run has lasted `delay` seconds.

    Silent when disabled (stderr not a terminal, or --no-progress), so logs and
    pipes never receive carriage returns.
    """

    def __init__(self, stream: TextIO, *, enabled: bool, delay: float = 0.5, interval: float = 0.1) -> None:
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self.next_draw = self.started + delay
        self.interval = interval
        self.drawn = False

    def advance(self, done: int, noun: str = "files") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self.next_draw:
            return
        self.next_draw = now + self.interval
        rate = done / max(now - self.started, 1e-9)
        self.stream.write(f"\r\033[Kchecked {done:,} {noun} ({rate:,.0f}/s)")
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        """Erase the line, so that report lines do not mix with it."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False
