"""The `articles` console script (and `python -m converters`).

Loading the command's modules, and typer building the commands from them,
take a noticeable moment before a command can catch anything: Ctrl-C, or
SIGTERM, in that time ends the run as it does later, with one line and
exit 130, never a traceback. Nothing has begun, so there is nothing to undo.
(The interpreter's own start, before this module runs, is out of its hands.)
"""

from __future__ import annotations

import signal
import sys

EXIT_INTERRUPTED = 130  # every command's exit code when interrupted (converters.cli's others live there)


class _Said:
    interrupted = False  # the run's one line about an interrupt is written


def main() -> None:
    interrupt_on_sigterm()
    try:
        from converters.cli import main as run_command

        run_command()
    except KeyboardInterrupt:
        say_interrupted()
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as end:
        # typer turns an interrupt while it parses the arguments into exit 130, and says nothing.
        if end.code == EXIT_INTERRUPTED and not _Said.interrupted:
            say_interrupted()
        raise


def say_interrupted(consequence: str = "") -> None:
    """The one line an interrupted run ends with; `consequence` says what was left undone."""
    sys.stderr.write(f"articles: interrupted{consequence}\n")
    _Said.interrupted = True


def interrupt_on_sigterm() -> None:
    """SIGTERM (a CI job cancelled, `timeout`, a container stopped) ends a run as Ctrl-C does: temporary files
    removed, nothing published, one line, exit 130."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt
