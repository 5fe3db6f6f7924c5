"""Progress on stderr during long runs: files checked, of how many, how fast, and the time left.

When it is shown:

- by default (neither --progress nor --no-progress), on a terminal only, and
  not when the CI environment variable is set (to anything but 0, false, no or
  off) nor when TERM is `dumb`: a pipe, a log file and a CI log never get it;
- with --progress, always: redrawn in place on a terminal, and anywhere else
  (a CI log, which does not understand a carriage return) as a plain line
  every few seconds, without escape codes;
- with --no-progress, never.

On a terminal the line is redrawn in place (carriage return, erase to the end
of the line), cut to the terminal's width so that it never wraps, and erased
before any report line and before the summary, which stays one line. The
total is counted by a walk of its own, in a thread, ahead of the checks
(WalkAhead); until it is known the line says `counting…`.

The unit is the file. A data file (.jsonl, .json, .parquet) holds many records:
then the line counts the records checked as well, and a data file counts as
done once the next file's first record arrives.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TextIO

from converters.discover import Walk

Mode = Literal["off", "redraw", "lines"]

# When a line is first drawn, and how often after that; a log gets fewer lines than a terminal gets redraws.
TIMING: dict[Mode, tuple[float, float]] = {"off": (0.0, 0.0), "redraw": (0.5, 0.1), "lines": (5.0, 5.0)}
# Private, for tests: draw on every result from the first on, so that a short run is drawn too.
EAGER_VARIABLE = "_ARTICLES_PROGRESS_EAGER"
# The rate is averaged over about this many seconds: the time left moves with the run's pace, not its bursts.
RATE_WINDOW = 10.0
_ERASE = "\r\033[K"
_NOT_SET = ("", "0", "false", "no", "off")


def choose_mode(requested: bool | None, stream: TextIO, environ: Mapping[str, str]) -> Mode:
    """--no-progress (False): off. --progress (True): redrawn on a terminal, plain lines elsewhere.
    Neither (None): redrawn on a terminal, outside CI; off everywhere else."""
    if requested is False:
        return "off"
    terminal = _is_terminal(stream) and environ.get("TERM") != "dumb"
    if requested:
        return "redraw" if terminal else "lines"
    return "redraw" if terminal and not in_ci(environ) else "off"


def in_ci(environ: Mapping[str, str]) -> bool:
    """CI services set CI (GitHub Actions, GitLab, CircleCI, Travis, Buildkite...); CI=false says otherwise."""
    return environ.get("CI", "").strip().lower() not in _NOT_SET


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def stderr_progress(requested: bool | None, walk: Walk | None = None) -> Progress:
    """The progress a command shows (see the module's docstring for when), its total counted from `walk`."""
    mode = choose_mode(requested, sys.stderr, os.environ)
    delay, interval = (0.0, 0.0) if os.environ.get(EAGER_VARIABLE) else TIMING[mode]
    count = (lambda: WalkAhead(walk)) if walk is not None else None
    return Progress(sys.stderr, mode=mode, count=count, delay=delay, interval=interval)


class FileCount(Protocol):
    """The total number of files, being counted."""

    total: int | None  # once counted
    counting: bool  # False once counted, and when the count failed or was stopped

    def stop(self) -> None: ...


class WalkAhead:
    """Counts the files a run will check, in a thread, so that the total is known early.

    The checks take files from their own walk a few chunks ahead of the
    workers, so that walk ends only with the run. This one goes over the same
    paths by the same rules, and keeps nothing but the count. A count that
    fails (a path that does not exist) leaves the total unknown; the checks
    report the error.

    Progress starts it at its first draw, once results arrive: by then the
    checks have forked all their workers, so no fork copies a process that is
    in the middle of a walk.
    """

    def __init__(self, walk: Walk) -> None:
        self.total: int | None = None
        self.counting = True
        self._found = 0
        self._thread = threading.Thread(target=self._count, args=(walk,), name="articles-count", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Give up counting: the run has ended (or failed) first."""
        self.counting = False

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _count(self, walk: Walk) -> None:
        try:
            for _ in walk.files():
                if not self.counting:
                    return
                self._found += 1
        except Exception:  # the checks walk the same paths, and report what went wrong there
            self.counting = False
            return
        self.total = self._found
        self.counting = False


class SmoothedRate:
    """Items per second over the last `window` seconds or so, each earlier second counting less.

    Results come back a chunk of files at a time: between two redraws the rate
    jumps from nothing to thousands. Averaged over a window of seconds, with
    older seconds fading out (an exponential moving average), it follows the
    run's pace without those jumps, and so does the time left worked out from
    it. The sums start empty rather than at a first sample, so the rate
    starts as the average over the run so far, with no first guess to live down.
    """

    def __init__(self, started: float, window: float = RATE_WINDOW) -> None:
        self.window = window
        self.rate = 0.0
        self._time = started
        self._count = 0
        self._items = 0.0  # items and seconds, each the older ones faded
        self._seconds = 0.0

    def update(self, now: float, count: int) -> float:
        elapsed = now - self._time
        if elapsed <= 0:
            return self.rate
        kept = math.exp(-elapsed / self.window)
        self._items = self._items * kept + (count - self._count)
        self._seconds = self._seconds * kept + elapsed
        self._time, self._count = now, count
        self.rate = self._items / self._seconds
        return self.rate


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the line shows, at one moment."""

    files: int  # files done
    records: int  # documents checked: a file's, or a data file's records
    total: int | None  # all the files, once counted
    counting: bool  # the total is being counted
    rate: float  # documents per second
    files_rate: float

    @property
    def data_files(self) -> bool:
        """Some file held more than one document: records and files are counted apart."""
        return self.records > self.files


def progress_line(now: Snapshot) -> str:
    """`checked 12,345 of 40,000 files (31%) · 2,100/s · 0:13 left`; `checked 12,345 files · 2,100/s · counting…`
    while the total is being counted; `checked 1,234,567 records · 41,000/s · 2 of 10 files (20%) · …` when
    data files hold many records each."""
    files = _files_of(now)
    if now.data_files:
        parts = [f"checked {now.records:,} records", _per_second(now.rate), files]
    else:
        parts = [f"checked {files}", _per_second(now.rate)]
    left = _time_left(now)
    if left is not None:
        parts.append(f"{duration(left)} left")
    elif now.total is None and now.counting:
        parts.append("counting…")
    return " · ".join(parts)


def _files_of(now: Snapshot) -> str:
    """`12,345 of 40,000 files (31%)`, or `12,345 files` while the total is unknown."""
    if now.total:
        percent = min(100, 100 * now.files // now.total)
        return f"{now.files:,} of {now.total:,} {_noun(now.total)} ({percent}%)"
    return f"{now.files:,} {_noun(now.files)}"


def _noun(count: int) -> str:
    return "file" if count == 1 else "files"


def _per_second(rate: float) -> str:
    return f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.1f}/s"


def _time_left(now: Snapshot) -> float | None:
    if now.total is None or now.files >= now.total or now.files_rate <= 0:
        return None
    return (now.total - now.files) / now.files_rate


def duration(seconds: float) -> str:
    """0:13, 12:05, 1:02:03: minutes and seconds, with hours in front once there are any."""
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


def fit(line: str, width: int) -> str:
    """The line cut to leave the terminal's last column free: a line that reaches it wraps, on some
    terminals, and a carriage return then goes back to the wrong line."""
    if len(line) < width:
        return line
    return line[: width - 2] + "…" if width > 2 else ""


def terminal_width(stream: TextIO) -> int:
    """COLUMNS, else the width of the terminal `stream` is on, else 80 (a terminal may report 0)."""
    configured = os.environ.get("COLUMNS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):  # not a terminal, closed, or no descriptor at all
        columns = 0
    return columns or shutil.get_terminal_size().columns


class Progress:
    """The progress line of one run: `advance` once per result, `clear` before any other output.

    `advance` costs a clock reading and a comparison per result; the line
    itself is made and written at most once per `interval`.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        mode: Mode = "redraw",
        count: Callable[[], FileCount] | None = None,
        delay: float = TIMING["redraw"][0],
        interval: float = TIMING["redraw"][1],
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream
        self.mode = mode
        self.enabled = mode != "off"
        self.interval = interval
        self.clock = clock
        self.width = width or (lambda: terminal_width(stream))
        self._start_count = count if self.enabled else None
        self.count: FileCount | None = None  # started at the first draw: a short run never pays for it
        started = clock()
        self.next_draw = started + delay
        self.files_started = 0
        self.records = 0
        self.drawn = False  # a line is on the screen, to be erased
        self._last_file: str | None = None
        self._rate = SmoothedRate(started)
        self._files_rate = SmoothedRate(started)

    def advance(self, file: str) -> None:
        """One more document checked, from `file`: an article file, or a data file's record."""
        if not self.enabled:
            return
        self.records += 1
        if file != self._last_file:
            self.files_started += 1
            self._last_file = file
        now = self.clock()
        if now < self.next_draw:
            return
        self.next_draw = now + self.interval
        self._draw(now)

    @property
    def files_done(self) -> int:
        # An article file gives one result, which ends it. A data file gives one a record, so once
        # any file has given more than one, the file being read is done only when the next one starts.
        return self.files_started if self.records == self.files_started else self.files_started - 1

    def snapshot(self, now: float) -> Snapshot:
        """The numbers the line shows now; the rates take them in as their latest sample."""
        done = self.files_done
        return Snapshot(
            files=done,
            records=self.records,
            total=self.count.total if self.count is not None else None,
            counting=self.count is not None and self.count.counting,
            rate=self._rate.update(now, self.records),
            files_rate=self._files_rate.update(now, done),
        )

    def clear(self) -> None:
        """Erase the line, so that report lines do not mix with it."""
        if self.drawn:
            self.stream.write(_ERASE)
            self.stream.flush()
            self.drawn = False

    def close(self) -> None:
        """The run is over: erase the line for good, and stop counting what is left to check."""
        self.clear()
        self.enabled = False
        if self.count is not None:
            self.count.stop()

    def _draw(self, now: float) -> None:
        if self.count is None and self._start_count is not None:
            self.count = self._start_count()
        line = progress_line(self.snapshot(now))
        if self.mode == "lines":
            self.stream.write(line + "\n")
        else:
            self.stream.write(_ERASE + fit(line, self.width()))
            self.drawn = True
        self.stream.flush()
