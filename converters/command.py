"""The `articles` console script (and `python -m converters`).

Loading the command's modules takes a noticeable moment before
`converters.cli` can catch anything: Ctrl-C, or SIGTERM, in that time ends
the run as it does later, with one line and exit 130, never a traceback.
Nothing has begun, so there is nothing to undo.
"""

from __future__ import annotations

import signal
import sys

EXIT_INTERRUPTED = 130  # every command's exit code when interrupted (converters.cli's others live there)


def main() -> None:
    interrupt_on_sigterm()  # from the first instant
    try:
        from converters.cli import main as run_command
    except KeyboardInterrupt:
        sys.stderr.write("articles: interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run_command()


def interrupt_on_sigterm() -> None:
    """SIGTERM (a CI job cancelled, `timeout`, a container stopped) ends a run as Ctrl-C does: temporary files
    removed, nothing published, one line, exit 130."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt
