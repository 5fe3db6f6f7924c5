"""The `articles` command: options in, library calls, exit codes out.

Exit codes: 0 all files valid, 1 invalid data, 2 usage error (bad option,
missing path, no article files, unusable schema), 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from converters import __version__
from converters.check import CheckOptions, Summary, check_paths
from converters.discover import DEFAULT_PATTERNS, InputError
from converters.limits import DEFAULT_MAX_FILE_SIZE, Limits, parse_size
from converters.progress import Progress
from converters.report import REPORTERS
from converters.report.base import summary_line
from converters.schema import SchemaError, bundled_schema_text, load_schema

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

app = typer.Typer(
    name="articles",
    help="Check and convert corpora of news-article files (YAML front matter + body).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"articles {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Check and convert corpora of news-article files."""


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"articles: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _one_of(choices: Iterable[str]) -> Callable[[str], str]:
    """An option callback accepting only `choices`; they come from the same dicts the code uses."""
    allowed = list(choices)

    def check(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(allowed)}")
        return value

    return check


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


SchemaOption = Annotated[
    Path | None,
    typer.Option(
        "--schema", dir_okay=False, help="JSON Schema to validate against (default: the bundled article schema)."
    ),
]
Paths = Annotated[
    list[str], typer.Argument(metavar="PATH", help="Files, directories (walked recursively) or - for standard input.")
]
Jobs = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes (default: one per available core).")
]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        metavar="GLOB",
        help=f"File-name pattern to look for in directories; repeatable (default: {' '.join(DEFAULT_PATTERNS)}).",
    ),
]
MaxFileSize = Annotated[str, typer.Option("--max-file-size", help="Larger files are errors; units K, M, G.")]
AllowDuplicateUrls = Annotated[
    bool, typer.Option("--allow-duplicate-urls", help="Do not report two files with the same top-level webUrl.")
]
ShowProgress = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Progress on stderr when it is a terminal.")
]


@app.command()
def validate(
    paths: Paths,
    schema: SchemaOption = None,
    report_format: Annotated[
        str,
        typer.Option("--format", "-f", callback=_one_of(REPORTERS), help=f"Report format: {', '.join(REPORTERS)}."),
    ] = "text",
    jobs: Jobs = None,
    include: Include = None,
    max_file_size: MaxFileSize = f"{DEFAULT_MAX_FILE_SIZE // 2**20}MiB",
    allow_duplicate_urls: AllowDuplicateUrls = False,
    color: Annotated[
        str,
        typer.Option("--color", callback=_one_of(["auto", "always", "never"]), help="Colour: auto, always or never."),
    ] = "auto",
    progress: ShowProgress = True,
) -> None:
    """Check article files against the schema and report every error with file:line:col."""
    options = CheckOptions(
        schema_path=schema,
        limits=Limits(max_file_size=_size(max_file_size)),
        allow_duplicate_urls=allow_duplicate_urls,
        patterns=tuple(include or ()) or DEFAULT_PATTERNS,
        jobs=jobs,
    )
    reporter = REPORTERS[report_format](sys.stdout, color=_use_color(color))
    meter = Progress(sys.stderr, enabled=progress and sys.stderr.isatty())
    summary = Summary()
    try:
        for result in check_paths(paths, options):
            summary.add(result)
            if result.errors or result.warnings:
                meter.clear()
            reporter.file_checked(result)
            meter.advance(summary.checked)
    except (InputError, SchemaError) as error:
        meter.clear()
        _usage_error(str(error))
    except KeyboardInterrupt:
        # Caught here: click would turn it into "Aborted!" with exit code 1.
        meter.clear()
        typer.echo("articles: interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    meter.clear()
    reporter.finish(summary)
    if not reporter.writes_summary:
        typer.echo(summary_line(summary), err=True)
    raise typer.Exit(EXIT_INVALID if summary.invalid else EXIT_OK)


@app.command("schema")
def show_schema(schema: SchemaOption = None) -> None:
    """Print the article JSON Schema."""
    if schema is None:
        typer.echo(bundled_schema_text(), nl=False)
        return
    try:
        load_schema(schema)
    except SchemaError as error:
        _usage_error(str(error))
    typer.echo(schema.read_text(encoding="utf-8"), nl=False)


def main() -> None:
    """Console-script entry point."""
    app()
