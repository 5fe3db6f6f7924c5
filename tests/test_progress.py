"""The progress line: drawn on a terminal during long runs, erased before report lines and the summary.

The unit tests drive Progress with a clock of their own and a count of files
set by hand; one test runs `articles validate` on a pseudo-terminal, as a
person at a terminal would see it.
"""

from __future__ import annotations

import fcntl
import io
import itertools
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import articles_script, many_articles

from converters.discover import Walk, find_article_files
from converters.progress import (
    EAGER_VARIABLE,
    Mode,
    Progress,
    WalkAhead,
    choose_mode,
    duration,
    stderr_progress,
)

ERASE = "\r\033[K"


class Clock:
    """Time that passes only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Count:
    """A count of the files, its answer set by the test."""

    total: int | None = None
    counting: bool = True
    stopped: bool = False

    def stop(self) -> None:
        self.stopped, self.counting = True, False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def meter(
    clock: Clock, count: Count | None = None, *, mode: Mode = "redraw", width: int = 200, interval: float = 0
) -> tuple[Progress, io.StringIO]:
    stream = io.StringIO()
    progress = Progress(
        stream,
        mode=mode,
        count=(lambda: count) if count is not None else None,
        delay=0,
        interval=interval,
        clock=clock,
        width=lambda: width,
    )
    return progress, stream


def check_files(progress: Progress, clock: Clock, files: int, per_second: float, first: int = 0) -> None:
    """`files` article files, one result each, at a steady pace."""
    for n in range(first, first + files):
        clock.now += 1 / per_second
        progress.advance(f"corpus/{n:06d}.md")


def last_line(stream: io.StringIO) -> str:
    return stream.getvalue().rsplit(ERASE, 1)[-1]


# -- what the line says ---------------------------------------------------------------


def test_while_the_total_is_counted_there_is_no_percentage_nor_time_left() -> None:
    clock = Clock()
    progress, stream = meter(clock, Count(total=None, counting=True))
    check_files(progress, clock, 12_345, per_second=2_000)
    assert last_line(stream) == "checked 12,345 files · 2,000/s · counting…"


def test_once_the_total_is_known_the_line_has_the_percentage_the_rate_and_the_time_left() -> None:
    clock = Clock()
    progress, stream = meter(clock, Count(total=40_000, counting=False))
    check_files(progress, clock, 12_345, per_second=2_000)
    # 27,655 files left at 2,000 a second: 13.8 s
    assert last_line(stream) == "checked 12,345 of 40,000 files (30%) · 2,000/s · 0:14 left"


def test_the_total_appears_when_the_count_ends() -> None:
    clock, count = Clock(), Count()
    progress, stream = meter(clock, count)
    check_files(progress, clock, 100, per_second=50)
    assert "counting…" in last_line(stream)
    count.total, count.counting = 400, False
    check_files(progress, clock, 1, per_second=50, first=100)
    assert last_line(stream) == "checked 101 of 400 files (25%) · 50/s · 0:06 left"


def test_a_long_run_tells_the_time_left_in_hours() -> None:
    clock = Clock()
    progress, stream = meter(clock, Count(total=1_000_000, counting=False))
    check_files(progress, clock, 1_000, per_second=100)
    assert last_line(stream).endswith("· 100/s · 2:46:30 left")  # 999,000 files at 100/s


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (13, "0:13"),
        (59.6, "1:00"),
        (725, "12:05"),
        (3_599, "59:59"),
        (3_723, "1:02:03"),
        (360_000, "100:00:00"),
    ],
)
def test_durations_are_minutes_and_seconds_with_hours_in_front_once_there_are_any(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_data_files_count_their_records_and_a_file_is_done_when_the_next_one_starts() -> None:
    clock = Clock()
    progress, stream = meter(clock, Count(total=4, counting=False))
    for file, records in (("a.jsonl", 3), ("b.jsonl", 2)):
        for _ in range(records):
            clock.now += 0.5
            progress.advance(file)
    assert last_line(stream).startswith("checked 5 records · 2.0/s · 1 of 4 files (25%) · ")


def test_the_rate_and_time_left_follow_the_pace_not_the_bursts_results_come_in() -> None:
    """Results come a chunk at a time, some soon after the last and some late: 50 after 0.2 s,
    50 after 0.8 s, 100 a second on average, where the rate between two draws is 250 or 62/s."""
    clock = Clock()
    progress, stream = meter(clock, Count(total=100_000, counting=False), interval=0.1)
    rates, seconds_left = [], []
    for burst in range(240):  # two minutes
        clock.now += 0.2 if burst % 2 else 0.8
        for n in range(50):
            progress.advance(f"{burst}-{n}.md")
        if burst >= 40:
            line = last_line(stream)
            rates.append(int(re.findall(r"· ([\d,]+)/s", line)[0].replace(",", "")))
            minutes, seconds = re.findall(r"· (\d+):(\d\d) left", line)[0]
            seconds_left.append(60 * int(minutes) + int(seconds))
    assert all(90 <= rate <= 110 for rate in rates), rates
    # Unsmoothed, the time left would swing by a factor of four from one draw to the next.
    assert all(abs(after - before) <= before / 20 for before, after in itertools.pairwise(seconds_left))


# -- where it goes --------------------------------------------------------------------


def test_the_line_is_cut_to_the_terminal_width_and_never_wraps() -> None:
    clock = Clock()
    progress, stream = meter(clock, Count(total=40_000, counting=False), width=30)
    check_files(progress, clock, 500, per_second=2_000)
    drawn = [line for line in stream.getvalue().split(ERASE) if line]
    assert drawn
    assert all(len(line) <= 29 and "\n" not in line for line in drawn)
    assert drawn[-1] == "checked 500 of 40,000 files …"


def test_nothing_is_drawn_before_the_delay_and_the_line_is_erased_at_the_end() -> None:
    clock, count = Clock(), Count(total=10, counting=False)
    stream = io.StringIO()
    progress = Progress(stream, count=lambda: count, delay=0.5, interval=0.1, clock=clock, width=lambda: 80)
    check_files(progress, clock, 1, per_second=4)  # 0.25 s
    assert stream.getvalue() == ""
    check_files(progress, clock, 1, per_second=4, first=1)
    assert stream.getvalue().startswith(ERASE + "checked 2 of 10 files (20%)")
    progress.close()
    assert stream.getvalue().endswith(ERASE)
    assert count.stopped
    check_files(progress, clock, 2, per_second=1, first=6)
    assert stream.getvalue().endswith(ERASE), "nothing is drawn once the run is over"


def test_short_runs_and_disabled_meters_write_nothing() -> None:
    clock = Clock()
    quiet, quiet_stream = meter(clock, Count(), mode="off")
    check_files(quiet, clock, 1_000, per_second=10)
    assert quiet_stream.getvalue() == ""
    assert quiet.count is None, "no files are counted for a line that is never shown"


@pytest.mark.parametrize(
    ("requested", "terminal", "environ", "mode"),
    [
        (None, True, {}, "redraw"),
        (None, False, {}, "off"),  # a pipe, a file
        (None, True, {"CI": "true"}, "off"),
        (None, True, {"CI": "1"}, "off"),
        (None, True, {"CI": "false"}, "redraw"),
        (None, True, {"TERM": "dumb"}, "off"),
        (True, False, {}, "lines"),  # asked for, where it cannot be redrawn
        (True, False, {"CI": "true"}, "lines"),
        (True, True, {"CI": "true"}, "redraw"),
        (False, True, {}, "off"),
    ],
)
def test_when_the_line_is_shown(requested: bool | None, terminal: bool, environ: dict[str, str], mode: Mode) -> None:
    stream = Terminal() if terminal else io.StringIO()
    assert choose_mode(requested, stream, environ) == mode


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean environment, and a line drawn for every result, so that only the rules decide."""
    for variable in ("CI", "TERM"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(EAGER_VARIABLE, "1")


@pytest.mark.usefixtures("stderr")
@pytest.mark.parametrize(("ci", "drawn"), [("true", False), (None, True)])
def test_by_default_a_terminal_in_ci_gets_nothing(monkeypatch: pytest.MonkeyPatch, ci: str | None, drawn: bool) -> None:
    monkeypatch.setattr(sys, "stderr", terminal := Terminal())
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    progress = stderr_progress(None)
    for n in range(3):
        progress.advance(f"{n}.md")
    assert ("checked 3 files" in terminal.getvalue()) is drawn


@pytest.mark.usefixtures("stderr")
def test_by_default_a_pipe_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", pipe := io.StringIO())
    progress = stderr_progress(None)
    for n in range(3):
        progress.advance(f"{n}.md")
    progress.close()
    assert pipe.getvalue() == ""


@pytest.mark.usefixtures("stderr")
def test_asked_for_on_a_pipe_it_is_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", pipe := io.StringIO())
    progress = stderr_progress(True)
    for n in range(3):
        progress.advance(f"{n}.md")
    progress.close()
    lines = pipe.getvalue().splitlines(keepends=True)
    assert [line.split(" · ")[0] for line in lines] == ["checked 1 file", "checked 2 files", "checked 3 files"]
    assert all(line.endswith("\n") for line in lines)
    assert "\r" not in pipe.getvalue()
    assert "\033" not in pipe.getvalue()


# -- the count ahead ------------------------------------------------------------------


def test_the_count_ahead_finds_what_the_checks_will_check(tmp_path: Path) -> None:
    many_articles(tmp_path / "corpus", 1_200)
    (tmp_path / "corpus" / "notes.csv").write_text("not an article")
    (tmp_path / "corpus" / "drafts").mkdir()
    (tmp_path / "corpus" / "drafts" / "draft.md").write_text("---\n---\n")
    walk = Walk((str(tmp_path / "corpus"),), excludes=("drafts",))
    count = WalkAhead(walk)
    count.join(timeout=60)
    assert count.total == len(list(find_article_files(walk.paths, walk.patterns, walk.excludes))) == 1_200
    assert not count.counting


def test_a_count_that_fails_leaves_the_total_unknown(tmp_path: Path) -> None:
    count = WalkAhead(Walk((str(tmp_path / "missing"),)))
    count.join(timeout=60)
    assert count.total is None
    assert not count.counting


# -- on a terminal, for real -------------------------------------------------------------


def run_on_terminal(*args: str, cwd: Path, columns: int = 120) -> tuple[int, str]:
    """`articles ARGS...` with stdout and stderr on a pseudo-terminal; -> exit code, all it drew."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environ = {key: value for key, value in os.environ.items() if key not in ("CI", "COLUMNS", "TERM")}
    environ[EAGER_VARIABLE] = "1"  # every result drawn: however fast the run, the line shows every state
    process = subprocess.Popen(
        [articles_script(), *args], stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, cwd=cwd, env=environ
    )
    os.close(terminal)
    drawn = bytearray()
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 1 << 16)
            except OSError:  # EIO: the process and its workers have all closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)
        if process.poll() is None:  # past the deadline: the test fails on its exit code
            process.kill()
    return process.wait(timeout=60), drawn.decode("utf-8")


def test_on_a_terminal_the_line_counts_to_the_total_and_gives_way_to_the_summary(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    many_articles(corpus, 1_997)
    for n in range(3):  # report lines, amid the progress
        (corpus / "001" / f"empty-{n}.md").write_bytes(b"")

    code, drawn = run_on_terminal("validate", "--isolated", "--progress", "--color", "never", str(corpus), cwd=tmp_path)

    assert code == 1, drawn[-2000:]
    frames = drawn.split(ERASE)
    assert any(
        re.fullmatch(r"checked [\d,]+ of 2,000 files \(\d+%\) · [\d,.]+/s( · \d+:\d\d left)?", f) for f in frames
    )
    # A report line never shares a line with the progress: each follows an erase, never a drawn line.
    reports = [frame for frame in frames if "empty-" in frame]
    assert len(reports) == 3
    assert all(frame.startswith(str(corpus)) for frame in reports)
    # The summary is one line, after the line is erased, and the end of the output.
    summary = r"2,000 files checked: 1,997 valid, 3 invalid; 3 errors, 0 warnings in [\d.]+ s\r\n"
    assert re.fullmatch(summary, frames[-1]), frames[-1]
