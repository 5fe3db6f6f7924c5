"""The `articles` command: options in, library calls, exit codes out.

Exit codes: 0 all files valid, 1 invalid data, 2 usage error (bad option,
missing path, no article files, unusable schema), 3 the output could not be
written (disk full, I/O error), 130 interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import typer
import typer.core

from converters import __version__
from converters.cache import ENVIRONMENT_VARIABLE, cache_folder, cache_info
from converters.cache import FOLDER as CACHE_FOLDER
from converters.cache import clean as clean_cache
from converters.cache import is_ours as is_cache_folder
from converters.check import CheckOptions, IndexSpaceError, Summary, check_paths
from converters.command import EXIT_INTERRUPTED, interrupt_on_sigterm, say_interrupted
from converters.config import ConfigError, find_config, read_config, settings_for
from converters.discover import DEFAULT_PATTERNS, InputError, Walk
from converters.export import OnInvalid, export_summary_line, human_size
from converters.export import export as run_export
from converters.layout import LayoutError
from converters.limits import DEFAULT_MAX_FILE_SIZE, Limits, parse_size
from converters.load import MODES, LoadError, LoadFailed, LoadOptions, Mode, SchemaChangeError, load_summary_line
from converters.load import load as run_load
from converters.output import OutputError
from converters.report import REPORTERS
from converters.report.base import plural, summary_line
from converters.report.display import Display, ReportChoice, ReportFile
from converters.schema import SchemaError, bundled_schema_text, load_schema
from converters.tables import DEFAULT_TABLE, DIALECTS, SCHEMA_FORMATS, hive_partition_hint, render_schema
from converters.writers import COMPRESSIONS, WRITERS, ExportOptions, WriterError, export_destination, format_for

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_WRITE_FAILED = 0, 1, 2, 3


class _Command(typer.core.TyperCommand):
    """Usage in the usual notation, `articles validate [OPTIONS] PATH...`, where typer writes `{PATH}`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # typer does not export the Context it passes
        return [_USUAL_PIECES.get(piece, piece) for piece in super().collect_usage_pieces(ctx)]


_USUAL_PIECES = {"{PATH}": "PATH..."}


def _examples(*lines: str) -> str:
    """An --help epilog of example commands; \\b keeps click from joining the lines."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


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


def _configure(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
    """--config and --isolated are read first (eager); once both are known, the configuration file's
    settings become the command's defaults, so that the command line still overrides them."""
    ctx.meta[f"articles.{param.name}"] = value
    if "articles.config" in ctx.meta and "articles.isolated" in ctx.meta:
        try:
            ctx.default_map = _configured_defaults(ctx, ctx.meta["articles.config"], ctx.meta["articles.isolated"])
        except ConfigError as error:
            _usage_error(str(error))
    return value


def _configured_defaults(ctx: typer.Context, path: str | None, isolated: bool) -> dict[str, Any]:
    if isolated:
        if path is not None:
            raise ConfigError("--config and --isolated contradict each other: give one")
        return {}
    found = Path(path) if path is not None else find_config(Path.cwd())
    if found is None:
        return {}
    config = read_config(found)
    options = {param.opts[0].removeprefix("--"): param for param in ctx.command.params if param.opts[0][:2] == "--"}
    defaults: dict[str, Any] = {}
    for key, (where, value) in settings_for(config, ctx.info_name or "", options).items():
        param = options[key]
        defaults[param.name or key] = _configured_value(ctx, param, where, value, config.path.parent)
    return defaults


def _configured_value(ctx: typer.Context, param: Any, where: str, value: object, base: Path) -> object:
    """The value checked as the command line would check it; ConfigError naming the file, key and line."""
    kind = (
        "bool" if param.is_flag else "list" if param.multiple else "int" if param.type.name.startswith("int") else "str"
    )
    fits = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "list": isinstance(value, list) and all(isinstance(item, str) for item in value),
    }
    if not fits[kind]:
        raise ConfigError(f"{where} must be {_TOML_KINDS[kind]}, not {value!r}")
    if isinstance(value, str) and param.type.name in ("file", "directory", "path"):
        value = str(base / value)  # relative to the file that says it, as ruff reads its paths
    try:
        param.process_value(ctx, value)  # the option's own type, range and choices
    except typer.BadParameter as error:
        raise ConfigError(f"{where}: {error.message}") from error
    return value


_TOML_KINDS = {"bool": "true or false", "int": "an integer", "str": "a string", "list": "a list of strings"}


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"articles: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _one_of(choices: Iterable[str]) -> Callable[[str | None], str | None]:
    """An option callback accepting only `choices` (or no value); they come from the same dicts the code uses."""
    allowed = list(choices)

    def check(value: str | None) -> str | None:
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(allowed)}")
        return value

    return check


def _size(text: str) -> int:
    try:
        size = parse_size(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    if size < 1:
        raise typer.BadParameter(f"{text!r} is no room for any file: give at least 1 byte")
    return size


def _checked_size(text: str) -> str:
    _size(text)
    return text


def _display(
    choice: ReportChoice,
    default: TextIO,
    check: CheckOptions,
    *,
    overwrite: bool,
    paths: Sequence[str],
    progress: bool | None,
) -> Display:
    """The report's display; a report file that cannot be written where asked is a usage error.

    The progress line counts the files ahead of the checks, walking them by the check's own rules.
    """
    if choice.statistics and choice.format != "text":
        _usage_error("--statistics counts keywords in place of a report: it goes with the text format")
    try:
        report_file = ReportFile(choice.output_file, overwrite=overwrite, inputs=paths) if choice.output_file else None
    except OutputError as error:
        _usage_error(str(error))
    walk = Walk(tuple(paths), tuple(check.patterns), tuple(check.excludes), check.force_exclude)
    return Display(choice, default, report_file, progress, walk)


def _interrupted(display: Display, consequence: str = "") -> NoReturn:
    # Caught in the command, to say what was left undone (typer would exit 130 saying nothing).
    display.meter.clear()
    say_interrupted(consequence)
    raise typer.Exit(EXIT_INTERRUPTED)


def _on_invalid(choice: str) -> OnInvalid:
    return "skip" if choice == "skip" else "fail"  # the option's callback allows nothing else


def _failed(display: Display, error: Exception) -> NoReturn:
    display.meter.clear()
    _usage_error(str(error))


_EXPORT_USAGE_ERRORS = (InputError, SchemaError, OutputError, WriterError, LayoutError)
_LOAD_USAGE_ERRORS = (InputError, SchemaError, OutputError, LayoutError, LoadError, SchemaChangeError)


@contextlib.contextmanager
def _failures_reported(
    display: Display,
    usage_errors: tuple[type[Exception], ...],
    consequence: str = "",
    cannot_write: str | None = None,
) -> Iterator[None]:
    """A command's failures -> one line and its exit code, never a traceback.

    `usage_errors` exit 2; Ctrl-C exits 130; a webUrl index that finds no room
    exits 3, and so does any other OSError when the command writes (it says
    what it `cannot_write`). `consequence` ends the line: what was left undone.
    """
    try:
        yield
    except usage_errors as error:
        _failed(display, error)
    except KeyboardInterrupt:
        _interrupted(display, consequence)
    except IndexSpaceError as error:
        _write_failed(display, f"{error}{consequence}")
    except OSError as error:
        if cannot_write is None:
            raise
        _write_failed(display, f"{cannot_write}: {error.strerror or error}{consequence}")


def _write_failed(display: Display, message: str) -> NoReturn:
    display.meter.clear()
    typer.echo(f"articles: error: {message}", err=True)
    raise typer.Exit(EXIT_WRITE_FAILED) from None


def _notices(checked: Summary) -> None:
    for notice in checked.notices:
        typer.echo(f"articles: warning: {notice}", err=True)


def _finish(display: Display, checked: Summary, line: str, committed: bool) -> NoReturn:
    """The report's end and the one-line summary, then the exit code: 0 when the output was committed."""
    display.finish(checked, summary_in_report=False)
    _notices(checked)
    if display.summary_line_shown:
        typer.echo(line, err=True)
    raise typer.Exit(EXIT_OK if committed else EXIT_INVALID)


# The export options that apply to some formats only; normalize and partition-by are checked with the target.
_FORMAT_OPTIONS = {
    "indent": ("json",),
    "escape_formulas": ("csv",),
    "compression": ("parquet",),
    "row_group_size": ("parquet",),
    **dict.fromkeys(("title", "link", "description", "feed_url", "limit", "build_date", "language"), ("rss",)),
}


def _no_format_here(value: str | None) -> None:
    """`validate --format` names the report; an export has two formats, and names each."""
    if value is not None:
        _usage_error("export has no --format: --to FORMAT is the data's format, --report FORMAT the error report's")


def _refuse_options_of_other_formats(ctx: typer.Context, format_name: str) -> None:
    """An option given for another format is a mistake worth saying: --title with Parquet would do nothing.

    Only options on the command line count: a configuration file's defaults for every export apply where they can.
    """
    for name, formats in _FORMAT_OPTIONS.items():
        source = ctx.get_parameter_source(name)
        if format_name not in formats and source is not None and source.name == "COMMANDLINE":
            option = "--" + name.replace("_", "-")
            _usage_error(f"{option} is for {' and '.join(formats)} output, and this export writes {format_name}")


def _check_options(
    *,
    schema: Path | None,
    jobs: int | None,
    include: list[str] | None,
    exclude: list[str] | None,
    force_exclude: bool,
    max_file_size: str,
    allow_duplicate_urls: bool,
    fail_fast: bool,
    max_errors: int | None,
    strict: bool,
    scheduler: str | None,
    cache_dir: Path | None = None,
) -> CheckOptions:
    return CheckOptions(
        schema_path=schema,
        limits=Limits(max_file_size=_size(max_file_size)),
        allow_duplicate_urls=allow_duplicate_urls,
        patterns=tuple(include or ()) or DEFAULT_PATTERNS,
        excludes=tuple(exclude or ()),
        force_exclude=force_exclude,
        jobs=jobs,
        max_errors=1 if fail_fast else max_errors,
        strict=strict,
        scheduler=scheduler or None,  # DASK_SCHEDULER_ADDRESS set empty: run here
        cache_dir=str(cache_dir) if cache_dir is not None else None,
    )


def _cache_dir(cache: bool, cache_dir: Path | None) -> Path | None:
    """The cache folder to use: None when --no-cache."""
    return cache_folder(cache_dir) if cache else None


Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing output (OUT, --rejects) that articles did not write, or that changed since; "
        "a directory output is deleted whole.",
    ),
]
ConfigFile = Annotated[
    str | None,
    typer.Option(
        "--config",
        metavar="FILE",
        is_eager=True,
        callback=_configure,
        help="Settings from FILE (articles.toml, or pyproject.toml's [tool.articles]) instead of the nearest one "
        "found from the current directory up.",
    ),
]
Isolated = Annotated[
    bool,
    typer.Option("--isolated", is_eager=True, callback=_configure, help="Read no configuration file."),
]
Strict = Annotated[
    bool,
    typer.Option("--strict/--no-strict", help="Warnings are errors: a file with one is invalid (exit 1, or a reject)."),
]
SchemaOption = Annotated[
    Path | None,
    typer.Option(
        "--schema",
        metavar="FILE",
        dir_okay=False,
        help="JSON Schema to validate against (default: the bundled article schema).",
    ),
]


Paths = Annotated[
    list[str], typer.Argument(metavar="PATH", help="Files, directories (walked recursively) or - for standard input.")
]
# A load's ledger names each file it took: standard input has no name to find again.
LoadPaths = Annotated[
    list[str], typer.Argument(metavar="PATH", help="Files and directories (walked recursively), or s3:// URIs.")
]
Jobs = Annotated[
    int | None,
    typer.Option("--jobs", "-j", metavar="N", min=1, help="Worker processes (default: one per available core)."),
]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        metavar="GLOB",
        help=f"File-name pattern to look for in directories; repeatable (default: {' '.join(DEFAULT_PATTERNS)}).",
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="GLOB",
        help="Leave out files and folders matching GLOB when walking folders; repeatable. Without /, GLOB "
        "matches a name (drafts, README.md); with /, the path from the folder given or from the current "
        "directory (tests/cases).",
    ),
]
ForceExclude = Annotated[
    bool,
    typer.Option(
        "--force-exclude/--no-force-exclude",
        help="Apply --exclude to paths given by name too, as a pre-commit hook needs.",
    ),
]
MaxFileSize = Annotated[
    str,
    typer.Option(
        "--max-file-size",
        metavar="SIZE",
        callback=_checked_size,  # checked as it is parsed, so that the message names the option
        help="Larger files are errors; units K, M, G.",
    ),
]
AllowDuplicateUrls = Annotated[
    bool,
    typer.Option(
        "--allow-duplicate-urls/--no-allow-duplicate-urls",
        help="Do not report two files with the same top-level webUrl.",
    ),
]
Color = Annotated[
    str,
    typer.Option(
        "--color", metavar="WHEN", callback=_one_of(["auto", "always", "never"]), help="Colour: auto, always or never."
    ),
]
FailFast = Annotated[
    bool, typer.Option("--fail-fast", help="Stop at the first invalid file (the same as --max-errors 1).")
]
MaxErrors = Annotated[
    int | None,
    typer.Option("--max-errors", metavar="N", min=1, help="Stop once N errors are found; later files are not checked."),
]
OnInvalidOption = Annotated[
    str,
    typer.Option(
        "--on-invalid",
        metavar="WHAT",
        callback=_one_of(["fail", "skip"]),
        help="fail: write nothing if any file is invalid; skip: write the valid ones, reject the rest.",
    ),
]
Rejects = Annotated[
    str | None, typer.Option("--rejects", metavar="FILE", help="JSON Lines of rejected files (with skip).")
]
OutputFile = Annotated[
    str | None,
    typer.Option(
        "--output-file", metavar="FILE", help="Write the report to FILE, whole or not at all, not to the terminal."
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Errors only: no warnings, no summary line.")]
Statistics = Annotated[
    bool, typer.Option("--statistics", help="A count per keyword, most frequent first, in place of the findings.")
]
ReportOption = Annotated[
    str,
    typer.Option(
        "--report", metavar="FORMAT", callback=_one_of(REPORTERS), help="Format of the error report on stderr."
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        envvar="DASK_SCHEDULER_ADDRESS",
        help="Run the checks as tasks on the Dask cluster at ADDRESS (tcp://host:8786); needs the dask extra.",
    ),
]
UseCache = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Reuse what earlier runs learnt of unchanged files, in the cache folder (see --cache-dir).",
    ),
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        envvar=ENVIRONMENT_VARIABLE,
        file_okay=False,
        help=f"The cache folder (default: the configuration's cache-dir, else {CACHE_FOLDER} in the current "
        "directory).",
    ),
]
ShowProgress = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Progress on stderr; by default only on a terminal and outside CI. --progress forces it "
        "(a line every few seconds where it cannot be redrawn).",
    ),
]


@app.command(
    cls=_Command,
    short_help="Check article files; report every error as file:line:col.",
    epilog=_examples(
        "articles validate corpus/",
        "articles validate corpus/ --format sarif --output-file articles.sarif",
        "articles validate corpus/ --exclude drafts --statistics",
        "articles validate - < article.md",
    ),
)
def validate(
    paths: Paths,
    schema: SchemaOption = None,
    report_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            callback=_one_of(REPORTERS),
            help=f"Report format: {', '.join(REPORTERS)}.",
        ),
    ] = "text",
    jobs: Jobs = None,
    include: Include = None,
    exclude: Exclude = None,
    force_exclude: ForceExclude = False,
    max_file_size: MaxFileSize = f"{DEFAULT_MAX_FILE_SIZE // 2**20}MiB",
    allow_duplicate_urls: AllowDuplicateUrls = False,
    fail_fast: FailFast = False,
    strict: Strict = False,
    scheduler: Scheduler = None,
    cache: UseCache = True,
    cache_dir: CacheDir = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            "--corpus",
            metavar="DIR",
            file_okay=False,
            help="The folder of the whole corpus, for a run given some of its files (a pre-commit hook): their "
            "webUrls are also checked against the corpus's other files, as the cache knows them.",
        ),
    ] = None,
    overwrite: Overwrite = False,
    max_errors: MaxErrors = None,
    color: Color = "auto",
    progress: ShowProgress = None,
    output_file: OutputFile = None,
    quiet: Quiet = False,
    statistics: Statistics = False,
    config: ConfigFile = None,
    isolated: Isolated = False,
) -> None:
    """Check article files against the schema and report every error with file:line:col."""
    check = _check_options(
        schema=schema,
        jobs=jobs,
        include=include,
        exclude=exclude,
        force_exclude=force_exclude,
        max_file_size=max_file_size,
        allow_duplicate_urls=allow_duplicate_urls,
        fail_fast=fail_fast,
        max_errors=max_errors,
        strict=strict,
        scheduler=scheduler,
        cache_dir=_cache_dir(cache, cache_dir),
    )
    check = dataclasses.replace(check, corpus=str(corpus) if corpus is not None else None)
    choice = ReportChoice(report_format, output_file, quiet, statistics, _use_color(color))
    display = _display(choice, sys.stdout, check, overwrite=overwrite, paths=paths, progress=progress)
    summary = Summary()
    try:
        with (
            _failures_reported(display, (InputError, SchemaError), cannot_write=f"cannot write {output_file}"),
            contextlib.closing(check_paths(paths, check)) as run,
        ):
            for chunk in run.chunks(plain=display.skips_clean_files):
                if chunk.plain is not None:
                    summary.add_clean(len(chunk))  # and nothing to show
                    continue
                summary.add_all(chunk.results)
                display.show_all(chunk.results)
            summary.stopped = run.stopped
            summary.notices = run.warnings
            display.finish(summary, summary_in_report=True)
    finally:
        display.close()
    _notices(summary)
    # A report in a file ends with its summary too (text does), but the log needs it as well.
    if (not display.reporter.writes_summary or display.report_file is not None) and display.summary_line_shown:
        typer.echo(summary_line(summary), err=True)
    raise typer.Exit(EXIT_INVALID if summary.invalid else EXIT_OK)  # --strict made warnings errors


@app.command(
    cls=_Command,
    short_help="Write valid articles as JSON, JSON Lines, CSV, Parquet or RSS.",
    epilog=_examples(
        "articles export corpus/ -o articles.parquet",
        "articles export corpus/ -o dataset/ --partition-by published_date",
        "articles export corpus/ -o articles.jsonl --on-invalid skip --rejects rejects.jsonl",
        "articles export articles.parquet -o feed.xml --limit 50 --language en",
    ),
)
def export(
    ctx: typer.Context,
    paths: Paths,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="OUT", help="Output file (a directory for --partition-by); - is stdout."
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="FORMAT",
            callback=_one_of(WRITERS),
            help=f"Format: {', '.join(WRITERS)} (default: from OUT's extension).",
        ),
    ] = None,
    schema: SchemaOption = None,
    jobs: Jobs = None,
    include: Include = None,
    exclude: Exclude = None,
    force_exclude: ForceExclude = False,
    max_file_size: MaxFileSize = f"{DEFAULT_MAX_FILE_SIZE // 2**20}MiB",
    allow_duplicate_urls: AllowDuplicateUrls = False,
    fail_fast: FailFast = False,
    strict: Strict = False,
    scheduler: Scheduler = None,
    cache: UseCache = True,
    cache_dir: CacheDir = None,
    max_errors: MaxErrors = None,
    on_invalid: OnInvalidOption = "fail",
    rejects: Rejects = None,
    report: ReportOption = "text",
    indent: Annotated[
        int | None, typer.Option("--indent", metavar="N", min=0, help="JSON: indent by N spaces.")
    ] = None,
    escape_formulas: Annotated[
        bool,
        typer.Option(
            "--escape-formulas/--no-escape-formulas", help="CSV: prefix ' to text cells starting with = + - @ tab CR."
        ),
    ] = False,
    normalize: Annotated[
        str | None,
        typer.Option("--normalize", metavar="DIR", help="CSV: write child tables (articles__topics.csv, ...) to DIR."),
    ] = None,
    compression: Annotated[
        str,
        typer.Option(
            "--compression",
            metavar="CODEC",
            callback=_one_of(COMPRESSIONS),
            help=f"Parquet: {', '.join(COMPRESSIONS[:-1])} or {COMPRESSIONS[-1]}.",
        ),
    ] = "zstd",
    row_group_size: Annotated[
        int,
        typer.Option(
            "--row-group-size", metavar="N", min=1, help="Parquet: rows per row group (memory grows with it)."
        ),
    ] = 10_000,
    partition_by: Annotated[
        str | None,
        typer.Option("--partition-by", metavar="FIELD", help="Parquet: write a hive-partitioned dataset to OUT."),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", metavar="TEXT", help="RSS: channel title (default: Articles).")
    ] = None,
    link: Annotated[
        str | None,
        typer.Option(
            "--link", metavar="URL", help="RSS: channel link (default: --feed-url, or the newest item's site)."
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", metavar="TEXT", help="RSS: channel description (default: the title).")
    ] = None,
    feed_url: Annotated[
        str | None, typer.Option("--feed-url", metavar="URL", help="RSS: the feed's own URL, as atom:link rel=self.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", min=1, help="RSS: only the newest N items.")
    ] = None,
    build_date: Annotated[
        str | None,
        typer.Option("--build-date", metavar="DATE", help="RSS: lastBuildDate, RFC 3339 (default: the newest item's)."),
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", metavar="TAG", help="RSS: the channel's language, such as en-us.")
    ] = None,
    overwrite: Overwrite = False,
    color: Color = "auto",
    progress: ShowProgress = None,
    output_file: OutputFile = None,
    quiet: Quiet = False,
    statistics: Statistics = False,
    config: ConfigFile = None,
    isolated: Isolated = False,
    _format: Annotated[str | None, typer.Option("--format", "-f", hidden=True, callback=_no_format_here)] = None,
) -> None:
    """Export valid articles to JSON, JSON Lines, CSV, Parquet or RSS, with the layout derived from the schema."""
    try:
        output, format_name = export_destination(output, to, normalize=normalize, partition_by=partition_by)
    except WriterError as error:
        _usage_error(str(error))
    _refuse_options_of_other_formats(ctx, format_name)
    named = format_for(output)
    if to is not None and named is not None and named != to:
        typer.echo(f"articles: warning: {output} is named like {named}, but --to {to} writes {to}", err=True)
    options = ExportOptions(
        indent=indent,
        escape_formulas=escape_formulas,
        normalize=normalize is not None,
        compression=compression,
        row_group_size=row_group_size,
        partition_by=partition_by,
        title=title,
        link=link,
        description=description,
        feed_url=feed_url,
        limit=limit,
        build_date=build_date,
        language=language,
    )
    check = _check_options(
        schema=schema,
        jobs=jobs,
        include=include,
        exclude=exclude,
        force_exclude=force_exclude,
        max_file_size=max_file_size,
        allow_duplicate_urls=allow_duplicate_urls,
        fail_fast=fail_fast,
        max_errors=max_errors,
        strict=strict,
        scheduler=scheduler,
        cache_dir=_cache_dir(cache, cache_dir),
    )
    choice = ReportChoice(report, output_file, quiet, statistics, _use_color(color) and sys.stderr.isatty())
    display = _display(choice, sys.stderr, check, overwrite=overwrite, paths=paths, progress=progress)
    # A full disk, a failing device: the output was discarded, never half-written.
    with (
        contextlib.closing(display),
        _failures_reported(display, _EXPORT_USAGE_ERRORS, "; nothing was written", f"cannot write {output}"),
    ):
        outcome = run_export(
            paths,
            output,
            format_name,
            check=check,
            options=options,
            on_invalid=_on_invalid(on_invalid),
            rejects=rejects,
            on_result=display.show,
            overwrite=overwrite,
        )
        _finish(display, outcome.checked, export_summary_line(outcome, output), outcome.committed)


@app.command(
    cls=_Command,
    short_help="Load valid articles into DuckDB, SQLite, PostgreSQL or Delta Lake, reading only what changed.",
    epilog=_examples(
        "articles load corpus/ --into warehouse.duckdb --prune",
        "articles load corpus/ --into warehouse.sqlite",
        "articles load corpus/ --into postgresql://user@host/db --table raw.articles",
        "articles load corpus/ --into delta:s3://bucket/articles --prune",
    ),
)
def load(
    paths: LoadPaths,
    into: Annotated[
        str,
        typer.Option(
            "--into",
            metavar="TARGET",
            help="A DuckDB file (warehouse.duckdb), an SQLite file (warehouse.sqlite, sqlite:///PATH), "
            "postgresql://..., or a Delta Lake table (delta:PATH, delta:s3://bucket/table).",
        ),
    ],
    table: Annotated[
        str, typer.Option("--table", metavar="NAME", help="The table to create or load into (schema.table works).")
    ] = DEFAULT_TABLE,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            metavar="MODE",
            callback=_one_of(MODES),
            help="merge: upsert by webUrl, reading only new and changed files; append: insert, refusing webUrls "
            "the table has; replace: rebuild the table from every file.",
        ),
    ] = "merge",
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="With merge: delete the rows of files that were loaded from PATH and are gone since."
        ),
    ] = False,
    on_schema_change: Annotated[
        str,
        typer.Option(
            "--on-schema-change",
            metavar="WHAT",
            callback=_one_of(("evolve", "fail")),
            help="evolve: add the columns of new optional properties; fail: stop instead.",
        ),
    ] = "evolve",
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            metavar="NAME",
            help="The table of files loaded, beside the data (default: _articles_files in the table's schema).",
        ),
    ] = None,
    schema: SchemaOption = None,
    jobs: Jobs = None,
    include: Include = None,
    exclude: Exclude = None,
    force_exclude: ForceExclude = False,
    max_file_size: MaxFileSize = f"{DEFAULT_MAX_FILE_SIZE // 2**20}MiB",
    fail_fast: FailFast = False,
    strict: Strict = False,
    scheduler: Scheduler = None,
    max_errors: MaxErrors = None,
    on_invalid: OnInvalidOption = "fail",
    rejects: Rejects = None,
    report: ReportOption = "text",
    overwrite: Overwrite = False,
    color: Color = "auto",
    progress: ShowProgress = None,
    output_file: OutputFile = None,
    quiet: Quiet = False,
    statistics: Statistics = False,
    config: ConfigFile = None,
    isolated: Isolated = False,
) -> None:
    """Load valid articles into a warehouse table by webUrl, reading only the files that changed since the
    last load, in one transaction."""
    check = _check_options(
        schema=schema,
        jobs=jobs,
        include=include,
        exclude=exclude,
        force_exclude=force_exclude,
        max_file_size=max_file_size,
        allow_duplicate_urls=False,
        fail_fast=fail_fast,
        max_errors=max_errors,
        strict=strict,
        scheduler=scheduler,
    )
    options = LoadOptions(table, _mode(mode), prune, "fail" if on_schema_change == "fail" else "evolve", ledger)
    choice = ReportChoice(report, output_file, quiet, statistics, _use_color(color) and sys.stderr.isatty())
    display = _display(choice, sys.stderr, check, overwrite=overwrite, paths=paths, progress=progress)
    # Staging the rows failed (a full temporary disk): the table was not touched.
    with (
        contextlib.closing(display),
        _failures_reported(display, _LOAD_USAGE_ERRORS, "; nothing was loaded", "cannot stage the rows"),
    ):
        try:
            outcome = run_load(
                paths,
                into,
                options=options,
                check=check,
                on_invalid=_on_invalid(on_invalid),
                rejects=rejects,
                on_result=display.show,
                overwrite=overwrite,
            )
        except LoadFailed as error:
            _write_failed(display, str(error))
        _finish(display, outcome.export.checked, load_summary_line(outcome, into, table), outcome.committed)


def _mode(choice: str) -> Mode:
    return "append" if choice == "append" else "replace" if choice == "replace" else "merge"


@app.command(
    "schema",
    cls=_Command,
    short_help="Print the JSON Schema, or the Arrow, BigQuery or SQL table.",
    epilog=_examples(
        "articles schema --format sql --dialect postgres",
        "articles schema --format bigquery --partition-by category > schema.json",
    ),
)
def show_schema(
    schema: SchemaOption = None,
    schema_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            callback=_one_of(SCHEMA_FORMATS),
            help=f"Output: {', '.join(SCHEMA_FORMATS)}.",
        ),
    ] = "json-schema",
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect",
            metavar="DIALECT",
            callback=_one_of(DIALECTS),
            help=f"With --format sql: {', '.join(DIALECTS)}.",
        ),
    ] = None,
    table: Annotated[
        str, typer.Option("--table", metavar="NAME", help="With --format sql: the table's name.")
    ] = DEFAULT_TABLE,
    partition_by: Annotated[
        str | None,
        typer.Option(
            "--partition-by",
            metavar="FIELD",
            help="With --format bigquery or arrow: the columns of a dataset exported with --partition-by FIELD, "
            "which keeps FIELD in its folder names only.",
        ),
    ] = None,
) -> None:
    """Print the article JSON Schema, or a table definition derived from it (Arrow, BigQuery, Spark, SQL DDL)."""
    try:
        loaded = load_schema(schema)
        if dialect is not None and schema_format == "json-schema":
            schema_format = "sql"  # a dialect is asked of SQL alone
        if schema_format == "json-schema" and partition_by is None:  # the file, byte for byte
            typer.echo(bundled_schema_text() if schema is None else schema.read_text(encoding="utf-8"), nl=False)
            return
        rendered = render_schema(loaded, schema_format, table=table, dialect=dialect, partition_by=partition_by)
        typer.echo(rendered, nl=False)
        if partition_by is not None and schema_format == "bigquery":
            typer.echo(f"to load the dataset: {hive_partition_hint(loaded, partition_by)}", err=True)
    except (SchemaError, LayoutError) as error:
        _usage_error(str(error))


cache_app = typer.Typer(
    name="cache",
    help="The cache of what earlier runs learnt of each file: where it is, how big, and removing it.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cache_app, short_help="Show or remove the cache of earlier runs.")


@cache_app.command(
    "info",
    cls=_Command,
    short_help="Where the cache is, how big, how many entries.",
    epilog=_examples("articles cache info", "articles cache info --cache-dir build/articles-cache"),
)
def cache_info_command(cache_dir: CacheDir = None, config: ConfigFile = None, isolated: Isolated = False) -> None:
    """Say where the cache folder is, how big it is, and how many entries (files) it holds."""
    folder = cache_folder(cache_dir)
    info = cache_info(folder)
    if not info.exists:
        typer.echo(f"no cache at {folder}")
        return
    unreadable = f", {info.unreadable:,} of them unreadable (the next run starts it afresh)" if info.unreadable else ""
    typer.echo(
        f"{folder}: {human_size(info.size)}; {info.entries:,} {'entry' if info.entries == 1 else 'entries'}, "
        f"{info.records:,} with their records, in {plural(info.databases, 'database')}{unreadable}"
    )


@cache_app.command(
    "clean", cls=_Command, short_help="Remove the cache folder.", epilog=_examples("articles cache clean")
)
def cache_clean_command(cache_dir: CacheDir = None, config: ConfigFile = None, isolated: Isolated = False) -> None:
    """Remove the cache folder (only what articles put in it); the next run checks every file again."""
    folder = cache_folder(cache_dir)
    if folder.exists() and not is_cache_folder(folder):
        _usage_error(f"{folder} is not a cache folder articles made (no CACHEDIR.TAG): left as it is")
    if not folder.exists():
        typer.echo(f"no cache at {folder}")
        return
    try:
        left = clean_cache(folder)
    except OSError as error:
        typer.echo(f"articles: error: cannot remove the cache in {folder}: {error.strerror or error}", err=True)
        raise typer.Exit(EXIT_WRITE_FAILED) from None
    typer.echo(f"removed {folder}" if not left else f"removed the cache from {folder}; left there: {', '.join(left)}")


def main() -> None:
    """The command, once its modules are loaded (converters.command.main is the console script's)."""
    interrupt_on_sigterm()
    sys.meta_path.insert(0, _WithoutPandas())
    app()


class _WithoutPandas:
    """Makes pandas unimportable in this process: a finder on sys.meta_path, which needs only find_spec
    (importlib.abc.MetaPathFinder would add nothing but its import, 13 ms of every command's start).

    pyarrow imports pandas, when it is installed, at its first pa.array() of a
    list, only to ask whether the list is a pandas object: 0.2 s of every
    export and load, and of each of their workers. The command never hands
    pyarrow one. (A library user's process is left as it is.)
    """

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not used by the articles command", name=name)
