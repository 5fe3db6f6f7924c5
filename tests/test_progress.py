"""The progress counter: drawn on a terminal during long runs, erased before report lines."""

from __future__ import annotations

import io

from converters.progress import Progress


def test_draws_after_the_delay_and_clears() -> None:
    stream = io.StringIO()
    meter = Progress(stream, enabled=True, delay=0, interval=0)
    meter.advance(1234)
    assert stream.getvalue().startswith("\r\033[Kchecked 1,234 files (")
    meter.clear()
    assert stream.getvalue().endswith("\r\033[K")


def test_short_runs_and_disabled_meters_write_nothing() -> None:
    quiet, short = io.StringIO(), io.StringIO()
    Progress(quiet, enabled=False, delay=0).advance(10)
    Progress(short, enabled=True, delay=60).advance(10)
    assert quiet.getvalue() == short.getvalue() == ""
