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
from converters.cache import settled_before
from converters.check import CheckOptions
from converters.discover import STDIN, InputError, absolute, find_article_files, is_uri, is_within
from converters.findings import FileResult, Position
from converters.inputs import data_file_indexes, input_format
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
_OBJECTS_LISTED = 1000  # stored objects listed at once: one LIST of their range


class LedgerEntry(NamedTuple):
    url: str
    file: str  # absolute path, or URI
    fingerprint: str  # "sha256:<hex>" or "etag:<ETag>"
    size: int
    stat: str | None  # the stat stamp, when it was taken safely after the file's last change
    rules: str  # the digest of what the file was checked by (ledger_rules)
    load_id: str


LedgerRow = tuple[str, str, str, int, str | None, str]
"""What planning reads of a ledger entry: LedgerEntry without its load_id (webUrl, file, fingerprint, size, stat,
rules). Plain tuples: a load reads one per article of the table."""

# What decides a file is unchanged without reading it: (size, stat stamp) of a local file, (size, "etag:<ETag>")
# of a stored object; None in the second place (a racy or unreadable file, an object gone) never matches.
Stamp = tuple[int, str | None]


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
    """A corpus file to read or to hash (Listing.file): the few a load reads, not every file it lists."""

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
class Listing:
    """The files a run over the paths would check, in its order: a list per property rather than an object
    per file, because a load lists every file of the corpus and reads only the few that changed."""

    names: list[str] = field(default_factory=list)  # as the run names them
    keys: list[str] = field(default_factory=list)  # the ledger's `file`: the absolute path, or the URI
    stamps: list[Stamp] = field(default_factory=list)
    has_objects: bool = False  # some are stored objects
    resolved: dict[str, str] = field(default_factory=dict)  # _resolved(paths): the real paths of linked paths
    here: str = ""  # the current directory when listed, that relative names are under

    def key(self, name: str) -> str:
        """The ledger's `file` for a file the run names `name`, as the listing named it."""
        return name if is_uri(name) else _real_key(absolute(name, self.here), self.resolved)

    def __len__(self) -> int:
        return len(self.names)

    def file(self, index: int) -> Listed:
        name, key, (size, stamp) = self.names[index], self.keys[index], self.stamps[index]
        records = input_format(name) is not None
        if is_uri(key):
            return Listed(name, key, size, None, stamp.removeprefix("etag:") if stamp else None, records)
        return Listed(name, key, size, stamp, None, records)


def list_corpus(paths: Sequence[str], options: CheckOptions, started_ns: int) -> Listing:
    """The corpus under `paths` as a load started at `started_ns` finds it. Raises InputError, for an empty
    corpus too: an unmounted or mistyped one must never look like one whose files are all gone."""
    if STDIN in paths:
        raise InputError("a load reads files, not standard input: its ledger names each file it took")
    found = find_article_files(paths, options.patterns, options.excludes, force_exclude=options.force_exclude)
    listing = Listing(here=os.getcwd())
    names, keys, stamps = listing.names, listing.keys, listing.stamps
    objects: list[str] = []
    here, stat = listing.here, os.stat
    safe_before = settled_before(started_ns)  # a file changed since may change again unseen in the same tick
    for name in found:  # once per corpus file: kept to the bare steps
        if is_uri(name):
            objects.append(name)
            if len(objects) >= _OBJECTS_LISTED:
                _list_objects(objects, listing)
            continue
        if objects:
            _list_objects(objects, listing)  # in walk order
        names.append(name)
        keys.append(absolute(name, here))
        try:
            status = stat(name)
        except OSError:
            stamps.append((-1, None))  # read, and its check says why
            continue
        mtime, ctime = status.st_mtime_ns, status.st_ctime_ns
        safe = mtime < safe_before and ctime < safe_before
        stamps.append((status.st_size, f"{mtime}:{ctime}:{status.st_ino}:{status.st_mode:o}" if safe else None))
    _list_objects(objects, listing)
    if not names:
        raise InputError(f"no articles found in {', '.join(paths)} (looked for {', '.join(options.patterns)})")
    listing.resolved = _resolved(paths)
    if listing.resolved:
        listing.keys[:] = [_real_key(key, listing.resolved) for key in listing.keys]
    return listing


def _resolved(paths: Sequence[str]) -> dict[str, str]:
    """The absolute path -> the real path, of each local path given that a symbolic link leads to. The ledger
    names a file by its real path: a corpus loaded through a link and through its target is one corpus, and
    --prune through either sees the files gone. (Links inside the corpus are not followed by the walk.)"""
    resolved = {}
    for path in paths:
        if path != STDIN and not is_uri(path) and (apparent := os.path.abspath(path)) != os.path.realpath(path):
            resolved[apparent] = os.path.realpath(path)
    return resolved


def _real_key(key: str, resolved: dict[str, str]) -> str:
    for apparent, real in resolved.items():
        if key == apparent or is_within(key, apparent):
            return real + key[len(apparent) :]
    return key


def _list_objects(uris: list[str], listing: Listing) -> None:
    """Stored objects, with the size and ETag of one listing of their range (Store.versions); empties `uris`."""
    if not uris:
        return
    from converters.storage import Uri, store_for

    parsed = [Uri.parse(uri) for uri in uris]
    versions: dict[tuple[str, str, str], tuple[int, str]] = {}  # (scheme, bucket, key) -> (size, ETag)
    for bucket in {(uri.scheme, uri.bucket) for uri in parsed}:
        in_bucket = [uri for uri in parsed if (uri.scheme, uri.bucket) == bucket]
        listed = store_for(in_bucket[0]).versions(in_bucket)
        versions.update(((*bucket, key), version) for key, version in listed.items())
    for name, uri in zip(uris, parsed, strict=True):
        size, etag = versions.get((uri.scheme, uri.bucket, uri.key), (-1, None))
        listing.names.append(name)
        listing.keys.append(name)
        listing.stamps.append((size, f"etag:{etag}" if etag is not None else None))
    listing.has_objects = True
    uris.clear()


@dataclass(slots=True)
class Plan:
    """What a load reads, and what it keeps of the ledger. A file is named by its walk index in the listing:
    a first load reads every file, and an object per file would hold as much again as the listing."""

    listing: Listing
    rules: str = ""  # ledger_rules of this load
    read: list[int] = field(default_factory=list)  # the files read, in walk order
    # The fingerprints taken here, before reading: of files of records, of objects (their ETag), of files hashed.
    # An article file's is its worker's (FileResult.digest), of the very bytes it checked.
    fingerprints: dict[int, str | None] = field(default_factory=dict)
    restated: list[LedgerEntry] = field(default_factory=list)  # unchanged files whose stamp changed
    forget: set[str] = field(default_factory=set)  # webUrls whose entries go: files read again, or gone
    skipped: int = 0  # unchanged files, not read
    url_at: dict[str, int] = field(default_factory=dict)  # webUrl -> walk index, of every entry of a file listed
    positions: dict[str, int] = field(default_factory=dict)  # file -> walk index, of every file listed
    read_at: set[int] = field(default_factory=set)  # the files read

    def read_again(self, at: int, url: str | None) -> None:
        """Read the file at walk index `at`; the entry it had (webUrl `url`) is made again from what it holds."""
        self.read.append(at)
        if url is not None:
            self.forget.add(url)

    def names(self) -> list[str]:
        """The files to read, as the run names them, in walk order."""
        return [self.listing.names[at] for at in self.read]

    def position(self, name: str) -> int:
        """The walk index of a file listed, by the name the run gave it; -1 for one not listed."""
        return self.positions.get(self.listing.key(name), -1)

    def unchanged(self, url: str) -> int | None:
        """The walk index of the unchanged file, not read, whose entry has `url`; None if there is none."""
        at = self.url_at.get(url)
        return at if at is not None and at not in self.read_at else None

    def entries(self, loaded: Iterable[tuple[str, str, str | None]], load_id: str) -> list[LedgerEntry]:
        """The new entries: one per (file name, webUrl, digest of the bytes checked) loaded, with the size and
        stamp listed before it was read, and the restated ones. A file with no fingerprint (it could not be read
        to hash it) gets none: the next load reads it."""
        fresh = []
        keys, stamps = self.listing.keys, self.listing.stamps
        for name, url, digest in loaded:
            at = self.position(name)
            if at in self.read_at and (fingerprint := digest or self.fingerprints.get(at)) is not None:
                size, stamp = stamps[at]
                stat = None if is_uri(keys[at]) else stamp  # an object's listed stamp is its ETag
                fresh.append(LedgerEntry(url, keys[at], fingerprint, size, stat, self.rules, load_id))
        # A restated file that a file read made a duplicate (LedgerUrls.late) is forgotten instead.
        kept = [entry._replace(load_id=load_id) for entry in self.restated if entry.url not in self.forget]
        return fresh + kept


# What LedgerComparison knows of each file listed, once the ledger is read.
_NO_ENTRY, _SAME_STAMP, _DIFFERS, _SEVERAL, _RECORDS = range(5)


class LedgerComparison:
    """The ledger's entries compared with the listing as the target reads them, a batch at a time: what is kept
    is a flag per file listed, the walk index of each entry's webUrl, and the entries of the few files that
    differ, never the whole ledger as tuples (docs/performance.md)."""

    flags: bytearray  # per file listed: _NO_ENTRY, _SAME_STAMP, ...
    url_at: dict[str, int]  # webUrl -> walk index, of each entry of a file listed
    differing: dict[int, LedgerRow]  # the one entry of a file whose stamp (or rules) differ from the listing's
    unlisted: dict[str, list[str]]  # --prune: file -> webUrls, of the entries under the paths whose file is unlisted

    def __init__(self, paths: Sequence[str], listing: Listing, *, rules: str, prune: bool) -> None:
        self.listing, self.rules = listing, rules
        # --prune: the paths given, as the ledger names them, under which an entry whose file is gone goes too
        self.prune_under: list[str] | None = [listing.key(path) for path in paths] if prune else None
        self.positions = dict(zip(listing.keys, range(len(listing)), strict=True))
        self.reset()

    def reset(self) -> None:
        """Forget what was taken: a target that reads the ledger again (DuckDB, uncapped) starts over."""
        self.flags = bytearray(len(self.listing))
        self.url_at, self.differing, self.unlisted = {}, {}, {}

    def take(self, rows: Iterable[LedgerRow]) -> None:
        """Compare a batch of the table's entries with the listing (the one step per entry, kept bare)."""
        flags, url_at, stamps, differing = self.flags, self.url_at, self.listing.stamps, self.differing
        rules, position = self.rules, self.positions.get
        for row in rows:
            url, file, fingerprint, size, stat, by = row
            at = position(file)
            if at is None:
                if self.prune_under is not None and _under(file, self.prune_under):
                    self.unlisted.setdefault(file, []).append(url)
                continue
            url_at[url] = at
            if flags[at] != _NO_ENTRY:  # a file of records, or a ledger edited by hand: read
                flags[at] = _SEVERAL
                continue
            # An entry of a local file that was safe to stamp has a stat stamp; an object's has none, but its ETag.
            if stat is None and is_uri(file):
                stat = fingerprint
            if stat is not None and stamps[at] == (size, stat) and by == rules:
                flags[at] = _SAME_STAMP
            else:
                flags[at] = _DIFFERS
                differing[at] = row


def plan_load(compared: LedgerComparison, options: CheckOptions) -> Plan:
    """What a load by `compared.rules` reads of the corpus listed, compared with the ledger (not read at all:
    everything)."""
    listing, flags = compared.listing, compared.flags
    plan = Plan(listing, compared.rules, positions=compared.positions, url_at=compared.url_at)
    _mark_records(compared)
    changed = [at for at, flag in enumerate(flags) if flag != _SAME_STAMP]
    plan.skipped = len(listing) - len(changed)
    to_hash: list[tuple[int, Listed, LedgerRow]] = []
    fingerprinted: list[tuple[int, Listed]] = []  # files read that no worker fingerprints
    for at in changed:
        file, entry = listing.file(at), compared.differing.get(at)
        if flags[at] == _DIFFERS and entry is not None:
            _, _, _, size, _, rules = entry
            if rules == plan.rules and size == file.size:
                to_hash.append((at, file, entry))  # its stamp changed, not its size: the bytes decide
                continue
        plan.read_again(at, entry[0] if entry is not None else None)
        if file.records or file.etag:
            fingerprinted.append((at, file))
    _forget_all_entries(plan, compared, {at for at in changed if flags[at] in (_SEVERAL, _RECORDS)})
    _hash(plan, to_hash, fingerprinted, options)
    plan.read.sort()  # in walk order: the first of two duplicates is kept
    plan.read_at = set(plan.read)
    if compared.prune_under is not None:
        for gone in _gone(list(compared.unlisted)):
            plan.forget.update(compared.unlisted[gone])
    return plan


def _mark_records(compared: LedgerComparison) -> None:
    """A file of records (by the name the run reads it by) is always read, whatever its entries say: each holds
    many articles, and its entries are made again from what it holds now."""
    for at in data_file_indexes(compared.listing.names):
        if compared.flags[at] != _NO_ENTRY:
            compared.flags[at] = _RECORDS


def _forget_all_entries(plan: Plan, compared: LedgerComparison, files: set[int]) -> None:
    """Forget every entry of `files` (walk indexes), files read that had several entries."""
    if files:
        plan.forget.update(url for url, at in compared.url_at.items() if at in files)


def _under(key: str, roots: Sequence[str]) -> bool:
    return any(key == root or is_within(key, root) for root in roots)


def _hash(
    plan: Plan,
    to_hash: list[tuple[int, Listed, LedgerRow]],
    fingerprinted: list[tuple[int, Listed]],
    options: CheckOptions,
) -> None:
    """Files whose stamp changed are unchanged if their bytes are; the files read that the worker checking them
    cannot fingerprint (files of records, objects) are fingerprinted here."""
    limit, jobs = options.limits.max_file_size, options.jobs or available_cores()
    hashed = _fingerprints([file for _, file, _ in to_hash], limit, jobs)
    for (at, file, row), fingerprint in zip(to_hash, hashed, strict=True):
        _, _, known_fingerprint, _, stat, _ = row
        if fingerprint == known_fingerprint:
            plan.skipped += 1
            if file.stat != stat:  # a stamp to keep (or one to drop): else the entry stays as it is
                plan.restated.append(LedgerEntry(*row[:4], file.stat, plan.rules, ""))
        else:
            plan.read_again(at, row[0])
            plan.fingerprints[at] = fingerprint
    files = [file for _, file in fingerprinted]
    plan.fingerprints.update(zip([at for at, _ in fingerprinted], _fingerprints(files, limit, jobs), strict=True))


def _fingerprints(files: list[Listed], limit: int, jobs: int) -> list[str | None]:
    """Listed.fingerprint of each file, a share of them per thread: reading and hashing release the GIL, so
    threads hash as fast as processes would, and a future per file cost more than hashing a small one."""
    if not files:
        return []
    from concurrent.futures import ThreadPoolExecutor  # a validate run never imports it (test_startup)

    share = -(-len(files) // (jobs * 4))
    shares = [files[start : start + share] for start in range(0, len(files), share)]
    with ThreadPoolExecutor(jobs) as pool:
        hashed = pool.map(lambda files: [file.fingerprint(limit) for file in files], shares)
        return [fingerprint for fingerprints in hashed for fingerprint in fingerprints]


def _gone(under: list[str]) -> Iterator[str]:
    """Of the files the ledger knows under the paths given that the walk did not list, those that no longer
    exist. One the walk leaves out (another --include, a file loaded by name) still exists: its row stays."""
    objects = Listing()
    _list_objects([key for key in under if is_uri(key)], objects)
    existing = {key for key, (_, etag) in zip(objects.keys, objects.stamps, strict=True) if etag is not None}
    for key in under:
        if (key not in existing) if is_uri(key) else not os.path.lexists(key):
            yield key


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
        self._displaced: dict[str, int] = {}  # webUrl -> the unchanged file (walk index) that now duplicates one read

    def others(self, result: FileResult) -> list[tuple[str, Position | None]]:
        if result.url is None or (index := self.plan.unchanged(result.url)) is None:
            return []
        if index < self.plan.position(result.file):
            return [(self.plan.listing.names[index], None)]
        self._displaced.setdefault(result.url, index)
        return []

    def late(self) -> list[FileResult]:
        late = []
        for url, index in self._displaced.items():
            self.plan.forget.add(url)
            self.plan.read_at.add(index)
            self.plan.skipped -= 1  # read now, and rejected
            late.append(FileResult(self.plan.listing.names[index], url=url))
        return late

    def close(self) -> None:
        pass
