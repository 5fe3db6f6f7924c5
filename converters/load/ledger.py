"""The file ledger: what each load took from the corpus, so that the next one reads only what changed.

A table beside the data (`_articles_files`) holds a row per loaded article:
its webUrl (the key, as in the data table), the file it came from (an
absolute path, or the object's URI), the file's fingerprint (`sha256:` of
its bytes, or `etag:` of the object), its size, and its stat stamp. A load
lists the corpus and compares each file with its entry:

- the same stat stamp (size, mtime and ctime in ns, inode, mode): unchanged,
  not read. A stamp is kept only when the file's mtime and ctime were safely
  older than the load that took it (git's racy rule, as in the cache), so an
  edit in the same clock tick as the last load is never mistaken for none;
- else the same fingerprint: unchanged, and its entry gets the new stamp (a
  `touch` or a fresh checkout costs a hash, not a check);
- else, and for files the ledger does not know: read, checked and loaded.

A file read is fingerprinted by the worker that checks it, from the very
bytes it checks (CheckOptions.digests), and its stat stamp is taken before:
a change in between makes the next load's stamp differ, and the fingerprint
then decides. A file of records is hashed here, before it is read, and an
object's ETag comes from the listing, before it is fetched: a change after
that is loaded, and seen again by the next load.

Each entry also keeps the digest of the rules its file was checked by (the
schema, the limits, --strict, the articles version): under other rules, a
file's verdict or row may differ, so every file is read again.

Files of records (`.jsonl`, `.parquet`, ...) hold many articles, and are read
whole on every load.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from converters import __version__
from converters.cache import RACY_MARGIN_NS
from converters.check import CheckOptions
from converters.discover import STDIN, InputError, find_article_files, is_uri, is_within
from converters.findings import FileResult, Position
from converters.inputs import input_format
from converters.layout import Kind
from converters.parallel import available_cores

LEDGER_TABLE = "_articles_files"
# The ledger's columns, after `table_name` (the data table an entry belongs to, so that tables can
# share a ledger) and before `loaded_at` (when the load committed).
LEDGER_KINDS: dict[str, Kind] = {  # column -> its layout kind, which each engine's scalar types spell
    "webUrl": "string",
    "file": "string",
    "fingerprint": "string",
    "size": "integer",
    "stat": "string",
    "rules": "string",
    "load_id": "string",
}
LEDGER_COLUMNS = tuple(LEDGER_KINDS)
_HASH_BLOCK = 1 << 20


class LedgerEntry(NamedTuple):
    url: str
    file: str  # absolute path, or URI
    fingerprint: str  # "sha256:<hex>" or "etag:<ETag>"
    size: int
    stat: str | None  # the stat stamp, when it was taken safely after the file's last change
    rules: str  # the digest of what the file was checked by (ledger_rules)
    load_id: str


def ledger_rules(schema: dict[str, Any], options: CheckOptions) -> str:
    """A digest of what a file's verdict and row depend on, besides the file: its entry holds only under it."""
    identity = {
        "articles": __version__,
        "schema": schema,
        "limits": options.limits.identity(),
        "strict": options.strict,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


class Listed(NamedTuple):
    """A corpus file as the load finds it, before reading it. (A tuple: a load makes one per corpus file.)"""

    name: str  # as the run names it
    key: str  # the ledger's `file`: the absolute path, or the URI
    size: int
    stat: str | None  # local files: the stat stamp
    etag: str | None  # stored objects: the listing's ETag
    records: bool  # a file of records: always read

    def fingerprint(self, limit: int) -> str | None:
        """`etag:` from the listing, or `sha256:` of the bytes now; None for a file that cannot be read
        (its check says why). Past `limit` bytes a file is invalid, and gets no entry: its digest stops there."""
        if self.etag is not None:
            return f"etag:{self.etag}"
        digest = hashlib.sha256()
        try:
            with open(self.name, "rb") as stream:
                while (block := stream.read(_HASH_BLOCK)) and limit >= 0:
                    digest.update(block)
                    limit -= len(block)
        except OSError:
            return None
        return f"sha256:{digest.hexdigest()}"


@dataclass(slots=True)
class Plan:
    """What a load reads, and what it keeps of the ledger."""

    rules: str = ""  # ledger_rules of this load
    read: list[Listed] = field(default_factory=list)  # in walk order
    # name -> (fingerprint, size, stat stamp) of each file read, taken before it is read; the fingerprint of
    # an article file is its worker's (FileResult.digest)
    taken: dict[str, tuple[str | None, int, str | None]] = field(default_factory=dict)
    restated: list[LedgerEntry] = field(default_factory=list)  # unchanged files whose stamp changed
    forget: set[str] = field(default_factory=set)  # webUrls whose entries go: files read again, or gone
    unchanged: dict[str, tuple[int, str]] = field(default_factory=dict)  # webUrl -> (walk index, name)
    order: dict[str, int] = field(default_factory=dict)  # name -> walk index, of the files read
    skipped: int = 0  # unchanged files, not read

    def entries(self, loaded: Iterable[tuple[str, str, str | None]], load_id: str) -> list[LedgerEntry]:
        """The new entries: one per (file name, webUrl, digest of the bytes checked) loaded, and the restated
        ones. A file with no fingerprint (it could not be read to hash it) gets none: the next load reads it."""
        fresh = []
        for name, url, digest in loaded:
            taken = self.taken.get(name)
            if taken is not None and (fingerprint := digest or taken[0]) is not None:
                _, size, stamp = taken
                fresh.append(LedgerEntry(url, _key(name), fingerprint, size, stamp, self.rules, load_id))
        # A restated file that a file read made a duplicate (LedgerUrls.late) is forgotten instead.
        kept = [entry._replace(load_id=load_id) for entry in self.restated if entry.url not in self.forget]
        return fresh + kept


def plan_load(
    paths: Sequence[str],
    options: CheckOptions,
    ledger: Iterable[LedgerEntry],
    *,
    rules: str,
    prune: bool,
    started_ns: int,
) -> Plan:
    """Compare the corpus under `paths` with the ledger (empty: read everything), for a load by `rules`.
    Raises InputError."""
    if STDIN in paths:
        raise InputError("a load reads files, not standard input: its ledger names each file it took")
    by_file, several = _by_file(ledger)
    listed = _listing(paths, options, started_ns)
    plan = Plan(rules)
    to_hash: list[tuple[int, Listed, LedgerEntry]] = []
    unchanged, known_entry, skipped = plan.unchanged, by_file.pop, 0  # the loop below runs once per corpus file
    index = -1
    for index, file in enumerate(listed):
        known = known_entry(file.key, None)
        if known is None or file.records or known.rules != rules or (several and file.key in several):
            _read(plan, index, file, several.pop(file.key, [known] if known is not None else []))
        elif _same_stamp(file, known):
            unchanged[known.url] = (index, file.name)
            skipped += 1
        else:
            to_hash.append((index, file, known))
    plan.skipped = skipped
    if index < 0:  # an unmounted or mistyped corpus must never look like one whose files are all gone
        raise InputError(f"no articles found in {', '.join(paths)} (looked for {', '.join(options.patterns)})")
    from concurrent.futures import ThreadPoolExecutor  # a validate run never imports it (test_startup)

    taken: dict[str, str | None] = {}
    with ThreadPoolExecutor(options.jobs or available_cores()) as pool:
        # Reading and hashing release the GIL: a thread per core hashes as fast as processes would.
        limit = options.limits.max_file_size
        hashed = pool.map(lambda job: job[1].fingerprint(limit), to_hash)
        for (index, file, entry), fingerprint in zip(to_hash, hashed, strict=True):
            if fingerprint == entry.fingerprint and file.size == entry.size:
                plan.unchanged[entry.url] = (index, file.name)
                if file.stat != entry.stat:  # a stamp to keep (or one to drop): else the entry stays as it is
                    plan.restated.append(entry._replace(stat=file.stat))
                plan.skipped += 1
            else:
                _read(plan, index, file, [entry])
                taken[file.name] = fingerprint
        # Files of records and objects are fingerprinted here; an article file by its worker.
        untaken = [file for file in plan.read if file.name not in taken and (file.records or file.etag)]
        fingerprints = pool.map(lambda file: file.fingerprint(limit), untaken)
        taken.update(zip([file.name for file in untaken], fingerprints, strict=True))
    plan.read.sort(key=lambda file: plan.order[file.name])  # in walk order: the first of two duplicates is kept
    for file in plan.read:
        plan.taken[file.name] = (taken.get(file.name), file.size, file.stat)
    if prune:
        for key in _gone(paths, list(by_file)):  # the keys left are those the walk did not list
            plan.forget.update(entry.url for entry in several.get(key, [by_file[key]]))
    return plan


def _by_file(ledger: Iterable[LedgerEntry]) -> tuple[dict[str, LedgerEntry], dict[str, list[LedgerEntry]]]:
    """The ledger by file: the entry of each file, and all the entries of the files that have several (a file
    of records). Two dicts rather than a list per file: a load looks up every file of the corpus here."""
    by_file: dict[str, LedgerEntry] = {}
    several: dict[str, list[LedgerEntry]] = {}
    for entry in ledger:
        first = by_file.setdefault(entry.file, entry)
        if first is not entry:
            several.setdefault(entry.file, [first]).append(entry)
    return by_file, several


def _gone(paths: Sequence[str], unlisted: list[str]) -> Iterator[str]:
    """The files the ledger knows under `paths` that the walk did not list, and that no longer exist. One
    the walk leaves out (another --include, a file loaded by name) still exists: its row stays."""
    roots = [_key(path) for path in paths]
    under = [key for key in unlisted if any(key == root or is_within(key, root) for root in roots)]
    objects = [key for key in under if is_uri(key)]
    existing = {listed.key for listed in _objects(objects) if listed.etag is not None}
    for key in under:
        if (key not in existing) if is_uri(key) else not os.path.lexists(key):
            yield key


def _read(plan: Plan, index: int, file: Listed, known: list[LedgerEntry] | None) -> None:
    plan.read.append(file)
    plan.order[file.name] = index
    plan.forget.update(entry.url for entry in known or ())


def _same_stamp(file: Listed, entry: LedgerEntry) -> bool:
    if file.size != entry.size:
        return False
    if file.etag is None:
        return file.stat is not None and file.stat == entry.stat
    return entry.fingerprint == f"etag:{file.etag}"


def _listing(paths: Sequence[str], options: CheckOptions, started_ns: int) -> Iterator[Listed]:
    """The files a run over `paths` would check, in its order, each with its size and stamp or ETag."""
    names = find_article_files(paths, options.patterns, options.excludes, force_exclude=options.force_exclude)
    batch: list[str] = []
    here = os.getcwd()
    for name in names:
        if is_uri(name):
            batch.append(name)
            if len(batch) >= 1000:
                yield from _objects(batch)
                batch = []
            continue
        if batch:
            yield from _objects(batch)
            batch = []
        yield _local(name, _local_key(name, here), started_ns)
    yield from _objects(batch)


def _local(name: str, key: str, started_ns: int) -> Listed:
    records = input_format(name) is not None
    try:
        found = os.stat(name)
    except OSError:
        return Listed(name, key, -1, None, None, records)  # read, and its check says why
    mtime, ctime = found.st_mtime_ns, found.st_ctime_ns
    # The stamp is kept only when the file changed safely before the load's start (the racy rule).
    if max(mtime, ctime) + RACY_MARGIN_NS >= started_ns:
        return Listed(name, key, found.st_size, None, None, records)
    return Listed(name, key, found.st_size, f"{mtime}:{ctime}:{found.st_ino}:{found.st_mode:o}", None, records)


def _objects(uris: list[str]) -> Iterator[Listed]:
    """Stored objects, with the size and ETag of one listing of their range (Store.versions)."""
    if not uris:
        return
    from converters.storage import Uri, store_for

    parsed = [Uri.parse(uri) for uri in uris]
    versions: dict[str, tuple[int, str]] = {}
    for bucket in {(uri.scheme, uri.bucket) for uri in parsed}:
        in_bucket = [uri for uri in parsed if (uri.scheme, uri.bucket) == bucket]
        versions.update(store_for(in_bucket[0]).versions(in_bucket))
    for name, uri in zip(uris, parsed, strict=True):
        size, etag = versions.get(uri.key, (-1, None))
        yield Listed(name, name, size, None, etag, input_format(name) is not None)


def _key(path: str) -> str:
    """The ledger's name of a file: its absolute path, or its URI."""
    return path if is_uri(path) else _local_key(path, os.getcwd())


def _local_key(path: str, here: str) -> str:
    """os.path.abspath(path) with `here` the current directory. A walk's names need no normalizing unless
    they hold `.`, `..` or `//`: joined as they are, they cost a tenth of abspath's time."""
    if path.startswith(".") or "/." in path or "//" in path or os.sep != "/":
        return os.path.abspath(path)
    return path if path.startswith("/") else f"{here}/{path}"


class LedgerUrls:
    """The run's look-up of webUrls among the unchanged files, which it does not read.

    A file read whose webUrl an unchanged file earlier in the walk has is a
    duplicate, as in a full run. One whose webUrl an unchanged file *later* in
    the walk has makes that file the duplicate: it is reported at the end of
    the run (`late`), and its entry forgotten, exactly as a full run would
    reject it.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.warning: str | None = None
        self._displaced: dict[str, str] = {}  # webUrl -> the unchanged file that now duplicates a file read

    def others(self, result: FileResult) -> list[tuple[str, Position | None]]:
        if result.url is None or (hit := self.plan.unchanged.get(result.url)) is None:
            return []
        index, name = hit
        if index < self.plan.order.get(result.file, -1):
            return [(name, None)]
        self._displaced.setdefault(result.url, name)
        return []

    def late(self) -> list[FileResult]:
        late = []
        for url, name in self._displaced.items():
            self.plan.forget.add(url)
            del self.plan.unchanged[url]
            self.plan.skipped -= 1  # read now, and rejected
            late.append(FileResult(name, url=url))
        return late

    def close(self) -> None:
        pass
