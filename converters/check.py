"""Paths -> a FileResult per article file, in order: read, validate, check uniqueness.

This is the library entry point that `articles validate` (and the exporters)
drive; it never prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import itertools
import json
import marshal
import operator
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast

import orjson

from converters.cache import (
    CacheSettings,
    CacheWarning,
    Entry,
    FileCache,
    Stat,
    digest_of,
    exact_json,
    pack_record,
    remove_database,
)
from converters.discover import (
    DEFAULT_PATTERNS,
    STDIN,
    InputError,
    absolute,
    find_article_files,
    is_plain_relative,
    is_uri,
)
from converters.fast_reader import fast_record
from converters.findings import FileResult, Finding, Position, in_file_order, json_pointer, position_at
from converters.inputs import Record, as_article, input_format, read_records
from converters.layout import Field, LayoutError, article_layout
from converters.limits import Limits
from converters.parallel import available_cores, ordered_chunks
from converters.reader import Article, ReaderError, parse_article, read_stream, size_error
from converters.schema import SchemaError, load_schema
from converters.slot_table import SlotTable
from converters.validate import ArticleValidator

if TYPE_CHECKING:  # the writers' side of the interface; a run that only validates never imports them
    from converters.writers.base import Encoder

STDIN_NAME = "<stdin>"

# One document's input to a worker: a path to read there, stdin's bytes read
# here, or a record read here from a data file (.jsonl, .json, .parquet).
Source = str | tuple[str, bytes] | Record


@dataclass(frozen=True, slots=True)
class CheckOptions:
    schema_path: Path | None = None
    limits: Limits = field(default_factory=Limits)
    keep_records: bool = False  # exporters need the values; validate does not
    allow_duplicate_urls: bool = False
    patterns: Sequence[str] = DEFAULT_PATTERNS
    excludes: Sequence[str] = ()  # files and folders left out of a walk (see discover.is_excluded)
    force_exclude: bool = False  # and paths given by name too
    jobs: int | None = None  # None: every available core
    max_errors: int | None = None  # stop once this many errors are found (the file that reaches it is whole)
    strict: bool = False  # warnings are errors: a file with one is invalid, and an export rejects it
    scheduler: str | None = None  # a Dask scheduler's address: the chunks run on that cluster
    # A folder for what runs learn of each file (converters/cache.py), so that the next run reads
    # only what changed; None: every file is read and checked. Local files only, and not on a cluster.
    cache_dir: str | None = None
    cache: CacheSettings | None = None  # the run's database: check_paths sets it from cache_dir
    cache_roots: tuple[str, ...] = ()  # the folders walked, absolute: where entries of gone files are looked for
    # The folder of the whole corpus, when the run is given some of its files (a pre-commit hook's):
    # their webUrls are also looked for among the corpus's other files that the cache knows.
    corpus: str | None = None
    # For exporters: turns each chunk's valid records into the writer's own form (JSON Lines
    # bytes, an Arrow batch) in the worker processes, so that the main process only writes.
    # Needs keep_records; see CheckedChunk.
    encode: Encoder | None = None
    # Each file read by path gets the SHA-256 of the very bytes checked (FileResult.digest): what a
    # load's ledger records, with no second read that could see other bytes.
    digests: bool = False


@dataclass(slots=True)
class Summary:
    checked: int = 0
    valid: int = 0
    invalid: int = 0
    errors: int = 0
    warnings: int = 0
    stopped: bool = False  # --max-errors was reached: files after the last one counted were not checked
    notices: list[str] = field(default_factory=list)  # what went wrong and cost no verdict (CheckRun.warnings)
    started: float = field(default_factory=time.monotonic)

    def add_clean(self, files: int) -> None:
        """add() of files valid with nothing to report."""
        self.checked += files
        self.valid += files

    def add_all(self, results: Sequence[FileResult]) -> None:
        """add() each: the files with findings one by one, the others at once."""
        flagged = [result for result in results if result.errors or result.warnings]
        self.add_clean(len(results) - len(flagged))
        for result in flagged:
            self.add(result)

    def add(self, result: FileResult) -> None:
        self.checked += 1
        if result.errors:
            self.invalid += 1
            self.errors += len(result.errors)
        else:
            self.valid += 1
        self.warnings += len(result.warnings)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class OtherFiles(Protocol):
    """The webUrls of files that are not part of the run, and that a duplicate of theirs in it must see:
    the rest of the corpus for a pre-commit hook (corpus_urls), the unchanged files of a load (load.ledger)."""

    warning: str | None  # why the look-up could not be done, once the run is over

    def others(self, result: FileResult) -> list[tuple[str, Position | None]]:
        """Files outside the run that come before `result` and have its webUrl: (name, position)."""
        ...

    def late(self) -> list[FileResult]:
        """Once the run is checked: files outside it that come after a file of the run with their
        webUrl, which makes them the duplicates. They are reported after the run's own files."""
        ...

    def close(self) -> None: ...


@dataclass(slots=True)
class PlainFiles:
    """A chunk of files all valid with nothing to report, and no record to hand on (a run with a warm
    cache): their names, webUrls and the webUrls' positions, as columns.

    A worker sends these in place of a result each, and the main process
    counts and indexes them as they are (CheckRun.chunks(plain=True)): a
    result per file, made, sent and taken apart, was a third of a warm
    `validate`'s time.
    """

    files: list[str]
    urls: list[str | None]
    lines: list[int | None]
    columns: list[int | None]

    def results(self) -> list[FileResult]:
        return [
            FileResult(file, url=url, url_position=position_at(line, column))
            for file, url, line, column in zip(self.files, self.urls, self.lines, self.columns, strict=True)
        ]


@dataclass(slots=True)
class CheckedChunk:
    """The results of consecutive documents, and what `CheckOptions.encode` made of their records.

    `rows` are the results whose records `encoded` holds, in its order: those
    the worker found valid. A row can turn invalid afterwards, in the main
    process, when its webUrl was seen before; its record is then still in
    `encoded`, and the writer must leave it out. With `plain`, `results` is
    empty until `unplain()`: see PlainFiles.
    """

    results: list[FileResult]
    rows: list[FileResult] = field(default_factory=list)
    encoded: Any = None
    cache_problem: str | None = None  # the cache failed in the worker (a warning; the results are whole)
    cache_corrupt: bool = False  # and its database is damaged: the main process removes it at the end
    cache_entries: list[Entry] = field(default_factory=list)  # what the worker learnt, for the main process to store
    cache_dropped: list[str] = field(default_factory=list)  # keys of files found invalid, for it to forget
    plain: PlainFiles | None = None

    def unplain(self) -> CheckedChunk:
        """The chunk with a result for each of its plain files."""
        if self.plain is not None:
            self.results, self.plain = self.plain.results(), None
        return self

    def __len__(self) -> int:
        return len(self.plain.files) if self.plain is not None else len(self.results)

    def renamed(self, names: dict[str, str]) -> CheckedChunk:
        """The same results, each file named as `names` says (a cluster reads absolute paths, and the
        driver names them as it was given them). `rows` are some of `results`: renamed with them."""
        for result in self.unplain().results:
            if result.file in names:
                name = names[result.file]
                result.file = name
                result.errors = [dataclasses.replace(e, file=name) for e in result.errors]
                result.warnings = [dataclasses.replace(w, file=name) for w in result.warnings]
        return self


class CheckRun(Iterator[FileResult]):
    """The results of one run, in path order; `stopped` says whether --max-errors cut it short.

    Iterate over it for the results one by one, or over `chunks()` for them a
    chunk at a time, with their encoded records: one or the other, not both.
    """

    def __init__(
        self,
        first: Source | None,
        rest: Iterator[Source],
        options: CheckOptions,
        warnings: list[str] | None = None,
        corpus: OtherFiles | None = None,
    ) -> None:
        """`first` is None for a run with nothing to check."""
        self.stopped = False
        # What did not work but cost no verdict (the cache): a line each, for the log.
        self.warnings: list[str] = warnings if warnings is not None else []
        self._corpus = corpus
        self._chunks = self._checked(first, rest, options) if first is not None else _no_chunks()
        self._current: Iterator[FileResult] = iter(())

    def __next__(self) -> FileResult:
        while (result := next(self._current, None)) is None:
            self._current = iter(next(self._chunks).unplain().results)  # StopIteration at the end ends this too
        return result

    def chunks(self, *, plain: bool = False) -> Iterator[CheckedChunk]:
        """The chunks; with `plain`, a chunk may come as PlainFiles (`plain`) with no `results`, for a
        consumer that needs no result for a file with nothing to report."""
        return self._chunks if plain else map(CheckedChunk.unplain, self._chunks)

    def close(self) -> None:
        """Stop the workers; results not yet taken are dropped."""
        self._chunks.close()

    def _checked(
        self, first: Source, rest: Iterator[Source], options: CheckOptions
    ) -> Generator[CheckedChunk, None, None]:
        urls = UrlIndex(options.limits) if not options.allow_duplicate_urls else None
        chunks = ordered_chunks(
            check_chunk,
            _prepend(first, rest),
            jobs=options.jobs or available_cores(),
            initializer=init_checker,
            initargs=(options,),
            scheduler=options.scheduler,
            finish=finish_task,
        )
        errors = checked = 0
        # Opened once the first chunk is back, when the pool has forked its workers: SQLite's locks
        # go wrong in a process forked while a connection was open, even for its own connections.
        writer: FileCache | None = None
        corrupt = False
        try:
            for chunk in itertools.chain(chunks, self._late()):
                if options.cache is not None:
                    writer = writer or FileCache(options.cache)
                    corrupt = corrupt or chunk.cache_corrupt
                    writer.store_soon(chunk.cache_entries, chunk.cache_dropped)
                    for problem in (chunk.cache_problem, writer.problem):
                        if problem is not None and problem not in self.warnings:
                            self.warnings.append(problem)
                checked += len(chunk)
                if chunk.plain is not None:
                    plain = chunk.plain
                    positions = list(zip(plain.lines, plain.columns, strict=True))
                    if urls is None or (self._corpus is None and urls.check_block(plain.files, plain.urls, positions)):
                        yield chunk  # nothing to report: no error to count
                        continue
                    chunk.unplain()  # a repeat, or a corpus to look the webUrls up in: a result each, as below
                indexed = urls is not None and self._corpus is None and urls.check_all(chunk.results)
                for index, result in enumerate(chunk.results):
                    if urls is not None and not indexed:
                        urls.check(result)
                        if self._corpus is not None:
                            self._check_against_corpus(result, urls, self._corpus)
                    errors += len(result.errors)
                    if options.max_errors is not None and errors >= options.max_errors:
                        self.stopped = True
                        del chunk.results[index + 1 :]
                        yield chunk
                        return
                yield chunk
            if writer is not None:
                writer.flush()
                if writer.problem is not None and writer.problem not in self.warnings:
                    self.warnings.append(writer.problem)
            if options.cache is not None:
                _prune_cache(options.cache, options.cache_roots, checked)
        finally:
            chunks.close()  # shuts the pool down now, not when the garbage collector gets to it
            _close_process_cache()  # this process's reader, if the chunks ran here: no connection outlives a run
            if writer is not None:
                writer.close()  # stores what is left, on every way out (--max-errors too)
                if writer.problem is not None and writer.problem not in self.warnings:
                    self.warnings.append(writer.problem)
                if (corrupt or writer.corrupt) and options.cache is not None:
                    remove_database(Path(options.cache.database))  # damaged: the next run starts afresh
            if urls is not None:
                urls.close()
            if self._corpus is not None:
                self._corpus.close()
                if self._corpus.warning is not None and self._corpus.warning not in self.warnings:
                    self.warnings.append(self._corpus.warning)

    def _late(self) -> Iterator[CheckedChunk]:
        """A chunk of the files outside the run that its files make duplicates: checked against the run's
        webUrls with the rest, once the run's own chunks are done (chain() asks for them only then)."""
        late = self._corpus.late() if self._corpus is not None else []
        if late:
            yield CheckedChunk(late)

    @staticmethod
    def _check_against_corpus(result: FileResult, urls: UrlIndex, corpus: OtherFiles) -> None:
        if any(error.keyword == "unique" for error in result.errors):
            return  # a duplicate within the run already: one error says it
        for other, position in corpus.others(result)[:1]:
            urls.report(result, other, position)


def check_paths(
    paths: Sequence[str],
    options: CheckOptions | None = None,
    *,
    files: Sequence[str] | None = None,
    others: OtherFiles | None = None,
) -> CheckRun:
    """Check every article file under `paths`, yielding results in path order.

    `files`: the files to check, as a walk of `paths` found them (a load's
    changed files), in place of walking `paths`. `others`: webUrls of files
    outside the run, for the duplicate check (in place of --corpus's).

    Raises InputError (before yielding anything) when a path does not exist or
    no article file is found, and SchemaError when the schema is unusable.
    When every file found was excluded, the run is empty: a pre-commit hook
    given only files its configuration leaves out has nothing to report.
    """
    options = options or CheckOptions()
    init_checker(options)  # a bad schema fails here, once, not in every worker
    warnings: list[str] = []
    options = _with_cache(options, paths, warnings)
    corpus = others or _corpus_urls(options, paths, warnings)
    left_out: list[str] = []
    sources = _sources(paths, options, left_out, files)
    try:
        first = next(sources, None)
    except BaseException:
        if corpus is not None:
            corpus.close()
        raise
    if first is None and corpus is not None:
        corpus.close()  # nothing to look up: the run below never starts
    if first is None and left_out:
        return CheckRun(None, sources, options, warnings)
    if first is None:
        looked_for = ", ".join(options.patterns)
        raise InputError(
            f"no articles found in {', '.join(paths)} "
            f"(looked for {looked_for} in folders, and for records in the data files given)"
        )
    return CheckRun(first, sources, options, warnings, corpus)


def _with_cache(options: CheckOptions, paths: Sequence[str], warnings: list[str]) -> CheckOptions:
    """The options with the run's cache database, when there is to be one and it can be used."""
    if options.cache_dir is None or options.scheduler is not None:
        return options  # a cluster's workers do not share this machine's disk
    try:
        settings = _prepared(Path(options.cache_dir), options, warnings, index_urls=options.corpus is not None)
    except CacheWarning as warning:
        warnings.append(str(warning))
        return options
    roots = tuple(os.path.abspath(path) for path in paths if not is_uri(path) and os.path.isdir(path))
    return dataclasses.replace(options, cache=settings, cache_roots=roots)


def _corpus_urls(options: CheckOptions, paths: Sequence[str], warnings: list[str]) -> OtherFiles | None:
    """What --corpus looks webUrls up in: the run's cache, or, for a run without one, a cache of its own.

    Without the cache (--no-cache, or one that cannot be used) the answer is
    the same, at the cost of checking the whole corpus: the temporary cache
    is filled from scratch, and removed when the run ends.
    """
    if options.corpus is None or options.allow_duplicate_urls:
        return None
    if not os.path.isdir(options.corpus):
        raise InputError(f"--corpus {options.corpus}: no such folder")
    from converters.corpus_urls import CorpusUrls

    temporary = None
    settings = options.cache
    try:
        if settings is None:
            temporary = tempfile.mkdtemp(prefix="articles-corpus-")
            settings = _prepared(Path(temporary) / "cache", options, warnings, index_urls=True)
        _refresh(dataclasses.replace(options, cache=settings), options.corpus, warnings)
    except BaseException as error:  # Ctrl-C too: the run's own cache holds the whole corpus
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(error, CacheWarning):
            raise InputError(f"--corpus {options.corpus}: {error}") from error
        raise
    in_run = [path for path in paths if not is_uri(path) and path != STDIN]
    rules = (options.patterns, options.excludes)
    return CorpusUrls(settings, options.corpus, in_run, rules, options.limits, temporary)


def _prepared(folder: Path, options: CheckOptions, warnings: list[str], *, index_urls: bool) -> CacheSettings:
    """The cache in `folder` made ready for this run's key; CacheWarning when it cannot be used."""
    from converters.cache import prepare, run_key

    key = run_key(load_schema(options.schema_path), options.limits)
    return prepare(folder, key, warnings, index_urls=index_urls)


def _refresh(options: CheckOptions, corpus: str, warnings: list[str]) -> None:
    """Bring the cache up to date with the corpus: a run over it that reports nothing.

    With a warm cache it only walks the corpus and stats each file; the files
    added or changed since the cache last saw them (a `git pull`) are checked,
    so that their webUrls are known too. Invalid files are never cached, so a
    webUrl shared with one is not found: the full run in CI finds it.
    """
    quiet = dataclasses.replace(
        options,
        corpus=None,
        cache_dir=None,  # the run's cache as it is (options.cache): made ready once, not again for this run
        cache_roots=(os.path.abspath(corpus),),
        allow_duplicate_urls=True,
        max_errors=None,
        force_exclude=False,
    )
    try:
        with contextlib.closing(check_paths([corpus], quiet)) as run:
            for _ in run.chunks(plain=True):  # nothing is reported: no result is needed
                pass
            warnings.extend(warning for warning in run.warnings if warning not in warnings)
    except InputError as error:
        warnings.append(f"--corpus {corpus}: {error}")


def _prune_cache(settings: CacheSettings, roots: Sequence[str], checked: int) -> None:
    """Drop the entries of files that are gone, once there may be many: it costs a stat per entry."""
    from converters.cache import PRUNE_SLACK, PRUNE_WHEN_ENTRIES_OVER, entry_count, prune

    if roots and entry_count(settings) > PRUNE_WHEN_ENTRIES_OVER * checked + PRUNE_SLACK:
        prune(settings, roots)


def _no_chunks() -> Generator[CheckedChunk, None, None]:
    yield from ()


def _prepend(first: Source, rest: Iterator[Source]) -> Iterator[Source]:
    yield first
    yield from rest


def _sources(
    paths: Sequence[str], options: CheckOptions, left_out: list[str], files: Sequence[str] | None
) -> Iterator[Source]:
    layout: Field | None = None  # needed only to read data files back
    found: Iterable[str]
    if files is None:
        rules = (options.patterns, options.excludes)
        found = find_article_files(paths, *rules, left_out, force_exclude=options.force_exclude)
    else:
        found = files
    for path in found:
        if path == STDIN:
            # One byte over the limit is enough for check_bytes to report the size.
            yield (STDIN_NAME, sys.stdin.buffer.read(options.limits.max_file_size + 1))
        elif input_format(path) is not None:
            layout = layout or _layout(options)
            reader = _stored_records if is_uri(path) else read_records
            yield from reader(path, layout, options.limits)
        else:
            yield path


def _stored_records(uri: str, layout: Field, limits: Limits) -> Iterator[Source]:
    """A stored data file's records: fetched whole to a temporary file first, since Parquet is read by seeking.

    The copy keeps the key's folders, so `NAME=VALUE` partitions still name
    their values, and each record is named by the URI, not the copy.
    """
    from converters.storage import Uri, store_for

    parsed = Uri.parse(uri)
    parts = parsed.key.split("/")
    with tempfile.TemporaryDirectory(prefix="articles-object-") as folder:
        local = os.path.join(folder, *(part for part in parts if part not in ("", ".", "..")))
        try:
            os.makedirs(os.path.dirname(local), exist_ok=True)
            store_for(parsed).download(parsed, local)
        except OSError as error:  # gone, refused, or a key no local path can hold
            yield Record(uri, 1, b"", problem=("read", f"cannot read object: {error.strerror or error}"))
            return
        for record in read_records(local, layout, limits):
            yield dataclasses.replace(record, file=uri)


def _layout(options: CheckOptions) -> Field:
    try:
        return article_layout(load_schema(options.schema_path))
    except LayoutError as error:
        raise SchemaError(f"data files cannot be read with this schema: {error}") from error


# -- per process ----------------------------------------------------------------

_checker: tuple[ArticleValidator, CheckOptions] | None = None
_file_cache: tuple[int, FileCache] | None = None  # the process that opened it: a connection never crosses a fork


def init_checker(options: CheckOptions) -> None:
    """Build the validator once per process: it is costly and cannot be pickled cheaply.

    Forked workers inherit the parent's, so they skip the rebuild.
    """
    global _checker
    if _checker is None or _checker[1].schema_path != options.schema_path:
        _checker = (ArticleValidator(load_schema(options.schema_path)), options)
    elif _checker[1] != options:
        _checker = (_checker[0], options)


def check_chunk(sources: list[Source]) -> CheckedChunk:
    """Check consecutive documents in this process, and encode their valid records if asked to."""
    assert _checker is not None, "init_checker() first"
    options = _checker[1]
    cache = _process_cache(options.cache)
    # The cache's rows of the chunk's unchanged files, looked up once (None: a chunk it cannot take so).
    hit_rows = _hit_rows(sources, cache, options.keep_records) if cache is not None else None
    unparsed = options.encode is None and not options.keep_records
    plain = _plain_files(hit_rows) if hit_rows is not None and unparsed else None
    chunk = CheckedChunk([], plain=plain) if plain is not None else _checked_chunk(sources, options, cache, hit_rows)
    if cache is not None:
        (chunk.cache_entries, chunk.cache_dropped), chunk.cache_problem = cache.take(), cache.problem
        chunk.cache_corrupt = cache.corrupt
    return chunk


def _checked_chunk(
    sources: list[Source], options: CheckOptions, cache: FileCache | None, hit_rows: HitRows | None
) -> CheckedChunk:
    """check_chunk()'s result for a chunk that does not come back as PlainFiles."""
    encoder = options.encode
    # The JSON texts of the records of the cache's hits, by file name, for an encoder that starts from them.
    texts: dict[str, bytes] | None = {} if encoder is not None and encoder.from_json is not None else None
    # The records are kept until the chunk is encoded, and the cache's hits make theirs all at once.
    with _cyclic_gc_paused() if encoder is not None else contextlib.nullcontext():
        if cache is None:
            results: Iterable[FileResult] = map(check_source, _fetched(sources, options.limits))
        else:
            results = _with_cache_hits(sources, cache, options, texts, hit_rows)
        if encoder is None:
            return CheckedChunk(list(results))
        if texts is not None:  # an encoder of whole chunks: the records need not be encoded one by one
            return _encoded_from_texts(list(results), encoder, texts)
        return _encoded(results, encoder)


def finish_task(chunks: list[CheckedChunk], number: int) -> list[CheckedChunk]:
    """On a cluster's worker, once a task's chunks are checked: what the export's encoder does once per task
    (Encoder.task), with the number of the task's first chunk."""
    assert _checker is not None, "init_checker() first"
    encoder = _checker[1].encode
    if encoder is None or encoder.task is None:
        return chunks
    for chunk, share in zip(chunks, encoder.task([chunk.encoded for chunk in chunks], number), strict=True):
        chunk.encoded = share
    return chunks


def _close_process_cache() -> None:
    global _file_cache
    if _file_cache is not None and _file_cache[0] == os.getpid():
        _file_cache[1].close()
        _file_cache = None


def _process_cache(settings: CacheSettings | None) -> FileCache | None:
    global _file_cache
    if settings is None:
        return None
    if _file_cache is None or _file_cache[0] != os.getpid() or _file_cache[1].settings != settings:
        _file_cache = (os.getpid(), FileCache(settings))
    return _file_cache[1]  # one that failed keeps saying why, and stores nothing


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a chunk's records are kept for encoding.

    A chunk's records are trees of dicts and lists, thousands of objects that
    live until the chunk is encoded: each new one counts towards the next
    collection, and each collection walks them all again, for nothing, since
    they hold no cycles. Over an export to Parquet, which keeps a chunk's
    records for one Arrow batch, that cost about 3% of the workers' time.
    Whatever cycles a chunk does leave are collected once it is done.
    """
    if not gc.isenabled():  # paused by whoever called us: theirs to resume
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _encoded(results: Iterable[FileResult], encoder: Encoder) -> CheckedChunk:
    checked: list[FileResult] = []
    rows: list[FileResult] = []
    items: list[Any] = []
    for result in results:
        checked.append(result)
        if not result.valid:
            continue
        assert result.record is not None, "encode needs keep_records"
        items.append(encoder.encode_one(result.record))
        rows.append(result)
        if input_format(result.file) is None:
            # Not sent back twice. Should it turn out a duplicate, the rejects file reads
            # an article file again; a data file's record has no file of its own to read.
            result.record = None
    return CheckedChunk(checked, rows, encoder.encode_chunk(items))


def _encoded_from_texts(results: list[FileResult], encoder: Encoder, texts: dict[str, bytes]) -> CheckedChunk:
    """_encoded, for an encoder that can start from JSON texts (Encoder.from_json), given those of the
    records of the chunk's cache hits (whose results carry no record): the other valid records are
    turned into JSON too, when most rows are hits. Failing that, the texts are parsed, and the
    records encoded as _encoded does."""
    assert encoder.from_json is not None
    rows = [result for result in results if result.valid]
    assert all(row.record is not None or row.file in texts for row in rows), "encode needs keep_records"
    encoded = None
    if 2 * len(texts) >= len(rows):
        jsons = [texts[row.file] if row.record is None else exact_json(row.record) for row in rows]
        encoded = encoder.from_json(jsons) if None not in jsons else None  # type: ignore[arg-type]
    if encoded is None:
        records = [row.record if row.record is not None else orjson.loads(texts[row.file]) for row in rows]
        encoded = encoder.encode_chunk([encoder.encode_one(record) for record in records])
    for row in rows:
        if input_format(row.file) is None:
            row.record = None  # as _encoded does
    return CheckedChunk(results, rows, encoded)


def _with_cache_hits(
    sources: list[Source],
    cache: FileCache,
    options: CheckOptions,
    texts: dict[str, bytes] | None,
    hit_rows: HitRows | None,
) -> Iterator[FileResult]:
    """The sources' results through the cache: those of unchanged files (`hit_rows`) at once, the others
    by _checked, which handles every kind of source and every case the cache knows. `texts`: see
    FileCache.hits."""
    hits = cache.hits(*hit_rows, options.keep_records, texts) if hit_rows is not None else []
    if hits and None not in hits:
        return iter(hits)  # type: ignore[arg-type]  # none is None: checked just above
    rest = [source for source, hit in zip(sources, hits, strict=True) if hit is None] if hits else sources
    objects = _StoredObjects.of(rest, cache, options.keep_records)
    to_fetch = [s for s in rest if not (isinstance(s, str) and s in objects.results)]
    fetched = _fetched(to_fetch, options.limits)  # taken one by one: fetching overlaps checking
    checked = _checked(rest, fetched, cache, options.keep_records, objects)
    return (hit if hit is not None else next(checked) for hit in hits) if hits else checked


HitRows = tuple[list[str], list[tuple[Any, ...] | None]]  # a chunk's names, and the cache's row of each


def _hit_rows(sources: list[Source], cache: FileCache, keep_records: bool) -> HitRows | None:
    """For a chunk of plain local paths, the cache's row of each file it stands in for (unchanged since a
    run found it valid), None for the others; None for a chunk of any other kind.

    The common case of a warm run, with a few Python steps a file: through
    _checked, the same answer took twice the time, most of a warm run's.
    """
    if not all(type(s) is str for s in sources):
        return None
    names: list[str] = sources  # type: ignore[assignment]  # every one a str, checked just above
    if any(map(is_uri, names)):
        return None
    here, settings = os.getcwd(), cache.settings
    keys = [_key(name, here, settings) for name in names]
    if not all(map(_storable, keys)):
        return None
    return names, cache.hit_rows(names, keys, keep_records)


def _plain_files(hit_rows: HitRows) -> PlainFiles | None:
    """A chunk whose every file the cache stands in for, as PlainFiles; else None."""
    names, found = hit_rows
    if None in found:
        return None
    rows = cast(list[tuple[Any, ...]], found)  # none is None: checked just above
    url, line, column = (list(map(operator.itemgetter(at), rows)) for at in (2, 3, 4))
    return PlainFiles(names, url, line, column)


def _checked(
    sources: list[Source], fetched: Iterator[Source], cache: FileCache, keep_records: bool, objects: _StoredObjects
) -> Iterator[FileResult]:
    """The sources' results, taking those of unchanged files from the cache and storing the new ones.

    A file whose stat tuple is as cached (and was not racy) is neither read
    nor checked; one whose stat changed is read, and if its bytes are as
    cached, it is not checked. A stored object whose size and ETag are as
    cached is not even fetched (`objects`). `fetched` yields the sources that
    `objects` did not answer, in order, each object with its bytes.
    """
    here = os.getcwd()  # once: os.path.abspath asks for it on every call
    keys = {s: _key(s, here, cache.settings) for s in sources if isinstance(s, str) and not is_uri(s)}
    paths = {source: key for source, key in keys.items() if _storable(key)}
    entries = cache.entries(list(paths.values()), with_records=keep_records)
    for source in sources:
        if isinstance(source, str) and source in objects.results:
            yield objects.results[source]
            continue
        item = next(fetched)
        if isinstance(item, str) and item in paths:
            yield _checked_file(item, paths[item], entries.get(paths[item]), cache, keep_records)
        elif isinstance(item, tuple) and item[0] in objects.versions:
            size, tag = objects.versions[item[0]]
            result = check_source(item)
            _remember(cache, item[0], Stat(size, 0, 0, 0, 0), tag.encode(), result, keep_records)
            yield result
        else:
            yield check_source(item)


@dataclass(slots=True)
class _StoredObjects:
    """A chunk's stored objects as one listing tells them: their size and ETag, and the results of
    those the cache knows with that size and ETag, which need not be fetched."""

    versions: dict[str, tuple[int, str]] = field(default_factory=dict)  # URI -> (size, ETag)
    results: dict[str, FileResult] = field(default_factory=dict)

    @classmethod
    def of(cls, sources: list[Source], cache: FileCache, keep_records: bool) -> _StoredObjects:
        uris = [source for source in sources if isinstance(source, str) and is_uri(source) and _storable(source)]
        if not uris:
            return cls()
        from converters.storage import StorageError, Uri, store_for

        objects = cls()
        by_bucket: dict[tuple[str, str], list[tuple[str, Uri]]] = {}
        for name in uris:
            parsed = Uri.parse(name)
            by_bucket.setdefault((parsed.scheme, parsed.bucket), []).append((name, parsed))
        for named in by_bucket.values():
            try:
                versions = store_for(named[0][1]).versions([parsed for _, parsed in named])
            except (StorageError, OSError):
                continue  # fetched and checked, as without the cache
            objects.versions.update({name: versions[uri.key] for name, uri in named if uri.key in versions})
        entries = cache.entries(list(objects.versions), with_records=keep_records)
        for name, (size, tag) in objects.versions.items():
            entry = entries.get(name)
            if entry is None or (entry.size, entry.digest) != (size, tag.encode()) or not entry.stands_in(keep_records):
                continue  # fetched and checked
            objects.results[name] = entry.result(name, keep_records)
        return objects


def _key(path: str, here: str, settings: CacheSettings) -> str:
    """The file's key in the cache: as CacheSettings.key_of says, of its absolute path."""
    if here == settings.base and is_plain_relative(path):
        return path  # under the folder that holds the cache, as a walk names it: already the key
    return settings.key_of(absolute(path, here))


def _storable(key: str) -> bool:
    if key.isascii():
        return True
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8 (surrogate escapes): SQLite cannot keep it
        return False
    return True


def _checked_file(name: str, key: str, entry: Entry | None, cache: FileCache, keep_record: bool) -> FileResult:
    assert _checker is not None
    validator, options = _checker
    if entry is not None and not entry.stands_in(keep_record):
        entry = None  # known, but its verdict or record cannot be reused: checked, and stored again
    try:
        stat = Stat.of(os.stat(name))  # before reading: a change made after it shows up in the next run's stat
    except OSError:
        return check_source(name)  # gone, or not a file: reported as the reference path reports it
    if entry is not None and entry.trusted(stat):
        return entry.result(name, keep_record)
    try:
        data = read_file(name, options.limits)
    except ReaderError as error:
        cache.drop(key)  # unreadable now: whatever the cache knew of it is stale
        return FileResult(name, errors=[_reader_finding(name, error)])
    digest = digest_of(data)
    if entry is not None and entry.digest == digest:
        if stat.storable:
            cache.add(entry.restated(stat, cache.settings.started_ns))  # touched, or a fresh checkout
        return entry.result(name, keep_record)
    result = check_bytes(name, data, validator, options)
    _remember(cache, key, stat, digest, result, keep_record)
    return result


def _remember(cache: FileCache, key: str, stat: Stat, digest: bytes, result: FileResult, keep_record: bool) -> None:
    """An entry for a file (or object) just checked, if it is valid: `stat` and `digest` are what
    the next run compares (for an object, its size and ETag). An invalid one loses the entry it
    had when it was valid, which would still give --corpus its webUrl."""
    if not result.valid:
        cache.drop(key)
        return
    if not stat.storable:
        return
    record = None
    if keep_record and not result.warnings:  # a file with a warning is kept for its webUrl alone
        record = pack_record(result.record) if result.record is not None else None
        if record is None:
            return  # a record that cannot be kept exactly: an export must read the file again
    cache.add(Entry.of(key, stat, digest, result, cache.settings.started_ns, record))


def _fetched(sources: list[Source], limits: Limits) -> Iterator[Source]:
    """The chunk's stored objects, fetched many at a time while the ones before them are checked.

    An object is read up to one byte over the size limit, as a file is; one
    that cannot be read stays its URI, for check_source to report.
    """
    uris = [source for source in sources if isinstance(source, str) and is_uri(source)]
    if not uris:
        yield from sources
        return
    from converters.storage import Uri, store_for

    parsed = [Uri.parse(uri) for uri in uris]
    fetched = store_for(parsed[0]).read_many(parsed, limits.max_file_size + 1)
    for source in sources:
        if not (isinstance(source, str) and is_uri(source)) or isinstance(data := next(fetched), OSError):
            yield source
        else:
            yield (source, data)


def check_source(source: Source) -> FileResult:
    assert _checker is not None, "init_checker() first"
    validator, options = _checker
    if isinstance(source, Record):
        return check_record(source, validator, options)
    if isinstance(source, tuple):
        name, data = source
        return check_bytes(name, data, validator, options)
    try:
        data = read_file(source, options.limits)
    except ReaderError as error:
        return FileResult(source, errors=[_reader_finding(source, error)])
    result = check_bytes(source, data, validator, options)
    if options.digests:
        result.digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    return result


def read_file(path: str, limits: Limits) -> bytes:
    """A file's or a stored object's bytes, at most the size limit; ReaderError when it cannot be read."""
    if is_uri(path):
        return _read_object(path, limits)
    try:
        with open(path, "rb") as stream:
            return read_stream(stream, limits)
    except IsADirectoryError as error:
        raise ReaderError("read", "is a directory, not a file") from error
    except OSError as error:
        raise ReaderError("read", f"cannot read file: {error.strerror or error}") from error


def _read_object(uri: str, limits: Limits) -> bytes:
    from converters.storage import Uri, store_for

    parsed = Uri.parse(uri)
    try:
        data = store_for(parsed).read(parsed, limits.max_file_size + 1)
    except OSError as error:
        raise ReaderError("read", f"cannot read object: {error}") from error
    if len(data) > limits.max_file_size:
        raise size_error(limits)
    return data


def check_bytes(name: str, data: bytes, validator: ArticleValidator, options: CheckOptions) -> FileResult:
    """Read and validate one file's bytes. Never raises for bad content.

    A file the fast reader reads and the compiled validator accepts is done;
    any other goes through the reference reader and jsonschema, for errors
    with lines and columns.
    """
    raw = data if options.keep_records else None  # an exporter's rejects file wants it
    if len(data) > options.limits.max_file_size:
        return FileResult(name, errors=[_reader_finding(name, size_error(options.limits))])
    if name != STDIN_NAME:  # stdin cannot be read again to locate a duplicate webUrl
        record = fast_record(data, options.limits)
        if record is not None and validator.certainly_valid(record):
            url = record.get("webUrl")
            return FileResult(
                name,
                record=record if options.keep_records else None,
                url=url if isinstance(url, str) else None,
            )  # no positions: UrlIndex finds them if this webUrl turns out to be a duplicate
    try:
        article = parse_article(data, options.limits)
    except ReaderError as error:
        return FileResult(name, errors=[_reader_finding(name, error)], raw=raw)
    warnings = [
        Finding(
            name,
            w.position.line if w.position else None,
            w.position.column if w.position else None,
            json_pointer(w.path),
            w.keyword,
            w.message,
        )
        for w in article.warnings
    ]
    return _validated(name, article, validator, options, raw, warnings)


def check_record(source: Record, validator: ArticleValidator, options: CheckOptions) -> FileResult:
    """Validate one record of a data file; its findings are located at the record's line (or row)."""
    try:
        article = as_article(source)
    except ReaderError as error:
        raw = (source.raw or None) if options.keep_records else None
        return FileResult(source.file, errors=[_reader_finding(source.file, error)], raw=raw)
    raw = (source.raw or record_text(article.record)) if options.keep_records else None
    return _validated(source.file, article, validator, options, raw, [])


def record_text(record: dict[str, Any]) -> bytes:
    """A record read from Parquet, as JSON text for the rejects file."""
    return json.dumps(record, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


def _validated(
    name: str,
    article: Article,
    validator: ArticleValidator,
    options: CheckOptions,
    raw: bytes | None,
    warnings: list[Finding],
) -> FileResult:
    url = article.record.get("webUrl")
    errors = validator.check(name, article)
    if options.strict and warnings:
        errors, warnings = errors + warnings, []
        in_file_order(errors)
    return FileResult(
        name,
        errors=errors,
        warnings=warnings,
        record=article.record if options.keep_records and not errors else None,
        raw=raw if errors else None,
        url=url if isinstance(url, str) else None,
        url_position=article.locate(("webUrl",)),
    )


def _reader_finding(name: str, error: ReaderError) -> Finding:
    line, column = error.position if error.position is not None else (None, None)
    return Finding(name, line, column, "", error.keyword, error.message)


# -- across the corpus ----------------------------------------------------------


_URL = operator.attrgetter("url")
_FILE = operator.attrgetter("file")
_POSITION = operator.attrgetter("url_position")


class IndexSpaceError(Exception):
    """The webUrl index could not be kept in the temporary folder (a full disk): exit code 3."""


class UrlIndex:
    """Finds a top-level webUrl seen in an earlier file: the same article twice.

    This is the one thing a run keeps per file, so it is kept on disk, and
    memory stays the same whatever the number of files: a table of 8-byte
    digests of the URLs (converters/slot_table.py), each beside the offset of
    its entry in a second temporary file. The entry (the URL, the first
    file's path, its position when known) is read back only when a digest
    comes round again, and the URLs are compared there, so that two URLs
    with the same digest are never taken for each other. On disk that is
    32 to 64 bytes a file for the table, and about 30 bytes plus the URL
    and the path for the entry (a data file's records share one path).

    A position is kept only when the file came with one: files that took the
    fast path carry none, so a duplicate's files are read again to locate
    it. Duplicates are rare, and every valid file pays nothing.
    """

    _ENTRY = struct.Struct("<QIii")  # the path's offset, the URL's length, line, column (-1: unknown)
    _LENGTH = struct.Struct("<I")
    BUFFER_SIZE = 1 << 20
    # A value of the table with this bit set is a block of check_all()'s: its offset shifted
    # left by 16 bits, or'ed with the item's place in the block.
    _IN_BLOCK = 1 << 63
    _BLOCK_ITEMS = 1 << 16

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._table = SlotTable()  # digest -> where its entry starts in the spill file
        self._spill: BinaryIO | None = None  # made when the buffer first fills: a small run never touches disk
        self._written = 0  # bytes in the spill file; those after them are in _buffer
        self._buffer = bytearray()
        self._last_path: tuple[str, int] = ("", -1)  # the records of a data file share one path

    def check(self, result: FileResult) -> None:
        if result.url is None:
            return
        digest = self._digest(result.url)
        url = result.url.encode("utf-8", "surrogatepass")
        try:  # every read and write of the two temporary files is in here
            offsets, empty_slot = self._table.lookup(digest)
            first = next((entry for entry in map(self._entry, offsets) if entry[0] == url), None) if offsets else None
            if first is None:
                self._table.insert(digest, self._store(result, url), empty_slot)
        except OSError as error:
            raise self._space_error(error) from error
        if first is not None:
            _, first_file, first_position = first
            self.report(result, first_file, first_position)

    def check_all(self, results: Sequence[FileResult]) -> bool:
        """Index a chunk's results at once, if none of their webUrls was seen before (nearly always);
        else, or once the table has left memory, change nothing and return False: check() each then.

        Their entries are kept as one block: per file, the Python that check()
        runs was most of the main process's time in a run with a warm cache.
        """
        positions = [(None, None) if p is None else (p.line, p.column) for p in map(_POSITION, results)]
        return self.check_block(list(map(_FILE, results)), list(map(_URL, results)), positions)

    def check_block(
        self, files: list[str], urls: list[str | None], positions: list[tuple[int | None, int | None]]
    ) -> bool:
        """check_all() of the files with these webUrls (None: a file with none) at these (line, column)."""
        if None in urls:
            kept = [at for at, url in enumerate(urls) if url is not None]
            files, urls = [files[at] for at in kept], [urls[at] for at in kept]
            positions = [positions[at] for at in kept]
        digests = list(map(self._digest, urls))
        if len(files) > self._BLOCK_ITEMS or len(set(digests)) < len(digests):
            return False
        if not self._table.holds_none_of(digests, len(digests)):
            return False
        # A record of a data file, or standard input, cannot be read again to locate its webUrl: the
        # positions are kept too. marshal takes plain tuples, and every step here runs in C.
        block = marshal.dumps((files, urls, positions))
        try:
            offset = self._append(self._LENGTH.pack(len(block)) + block)
        except OSError as error:
            raise self._space_error(error) from error
        first = self._IN_BLOCK | offset << 16
        self._table.insert_new(digests, range(first, first + len(files)))
        return True

    # Python's own string hash: keyed afresh in each process (so that no corpus can be made to
    # collide), computed once per string, and only ever compared within this run.
    _digest = staticmethod(hash)

    def close(self) -> None:
        self._table.close()
        if self._spill is not None:
            self._spill.close()  # a temporary file: closing it deletes it

    def report(self, result: FileResult, first_file: str, first_position: Position | None) -> None:
        """Add to `result` the error that its webUrl is also used by `first_file`."""
        first_position = first_position or self._locate(first_file)
        where = f"{first_file}:{first_position.line}" if first_position is not None else first_file
        position = result.url_position or self._locate(result.file)
        line, column = position if position is not None else (None, None)
        result.errors.append(
            Finding(result.file, line, column, "/webUrl", "unique", f"webUrl {result.url} is also used by {where}")
        )
        in_file_order(result.errors)

    def _store(self, result: FileResult, url: bytes) -> int:
        """Append the entry for a URL seen first here (after its path, unless the last entry had the
        same one); return the entry's offset. One append a file: two cost 10% of a warm run."""
        path, path_offset = self._last_path
        block = b""
        if result.file != path:
            encoded = result.file.encode("utf-8", "surrogateescape")
            block = self._LENGTH.pack(len(encoded)) + encoded
            path_offset = self._written + len(self._buffer)
            self._last_path = (result.file, path_offset)
        line, column = result.url_position if result.url_position is not None else (-1, -1)
        return self._append(block + self._ENTRY.pack(path_offset, len(url), line, column) + url) + len(block)

    def _append(self, data: bytes) -> int:
        """Add to the spill file, through a buffer of our own: a write per file took 2 µs."""
        offset = self._written + len(self._buffer)
        self._buffer += data
        if len(self._buffer) >= self.BUFFER_SIZE:
            spill = self._spill_file()
            spill.seek(self._written)  # the end: a look-up (_read) may have moved the file's position
            spill.write(self._buffer)
            self._written += len(self._buffer)
            self._buffer.clear()
        return offset

    def _entry(self, offset: int) -> tuple[bytes, str, Position | None]:
        """The URL, the path and the position (if known) stored at `offset`."""
        if offset & self._IN_BLOCK:
            return self._block_entry(offset ^ self._IN_BLOCK)
        path_offset, url_length, line, column = self._ENTRY.unpack(self._read(offset, self._ENTRY.size))
        url = self._read(offset + self._ENTRY.size, url_length)
        (path_length,) = self._LENGTH.unpack(self._read(path_offset, self._LENGTH.size))
        path = self._read(path_offset + self._LENGTH.size, path_length).decode("utf-8", "surrogateescape")
        return url, path, (Position(line, column) if line >= 0 else None)

    def _block_entry(self, value: int) -> tuple[bytes, str, Position | None]:
        """Item `value & 0xFFFF` of the block check_all() wrote at `value >> 16`."""
        start = value >> 16
        (size,) = self._LENGTH.unpack(self._read(start, self._LENGTH.size))
        files, urls, positions = marshal.loads(self._read(start + self._LENGTH.size, size))
        item = value & 0xFFFF
        line, column = positions[item]
        return urls[item].encode("utf-8", "surrogatepass"), files[item], position_at(line, column)

    def _read(self, offset: int, size: int) -> bytes:
        # An entry is appended whole, so it is either all in the file or all in the buffer.
        if offset >= self._written:
            start = offset - self._written
            return bytes(self._buffer[start : start + size])
        spill = self._spill_file()
        spill.seek(offset)
        return spill.read(size)

    def _spill_file(self) -> BinaryIO:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="articles-urls-")  # noqa: SIM115 - closed by close()
        return self._spill

    @staticmethod
    def _space_error(error: OSError) -> IndexSpaceError:
        return IndexSpaceError(
            f"cannot keep the webUrl index in {tempfile.gettempdir()}: {error.strerror or error} "
            "(TMPDIR chooses the folder)"
        )

    def _locate(self, file: str) -> Position | None:
        try:
            article = parse_article(read_file(file, self._limits), self._limits)
        except ReaderError:
            return None  # changed since it was checked: report the file without a line
        return article.positions.get(("webUrl",))
