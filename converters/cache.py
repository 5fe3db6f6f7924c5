"""What earlier runs learnt of each file, so that a repeated run costs what changed (docs/cache.md).

For each file found valid with no warning, the cache keeps its stat tuple,
a digest of its bytes, its webUrl and where that is, and, once an export has
read it, its record. A valid file with a warning is kept for its webUrl alone
(for --corpus), and an invalid one not at all: both are always checked again,
so their messages and positions are current, as ruff does.

One SQLite database per run key (the versions, the schema, the limits: see
run_key); any change to them starts afresh in a new database, and the old
one is removed once unused for UNUSED_DAYS. The worker processes read the
database; what they learn comes back with their results, and the main
process writes it, STORE_BATCH entries a transaction. One writer per run: with each
worker writing its own, their transactions waited on each other (SQLite's
busy handler sleeps), which cost a cold run a tenth of its time. Two runs
at once share the database through SQLite's locks. Whatever goes wrong with the
cache (corrupt, read-only, a full disk) costs speed, never a verdict: the
run carries on without it and says so in one warning line.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import operator
import os
import re
import sqlite3
import struct
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from converters import __version__
from converters.findings import FileResult, Position, position_at
from converters.limits import Limits

FOLDER = ".articles_cache"
LAYOUT = "v1"  # the folder of this layout's databases: a later layout starts beside it, never reads it
ENVIRONMENT_VARIABLE = "ARTICLES_CACHE_DIR"
# A file whose mtime or ctime is not at least this much older than the start of the run that
# cached it is read and hashed again, as git does with "racily clean" files: a change made in
# the same clock tick as the run's stat would leave the stat tuple as it was. FAT keeps mtimes
# to 2 s, and Linux stamps files from a clock that ticks every few milliseconds.
RACY_MARGIN_NS = 2_000_000_000
UNUSED_DAYS = 14  # a run key's database unused for this long (another version, other options) is removed
# Entries of files that are gone are dropped at the end of a run that walked folders, once they
# may make up this share of the database: checking for them costs a stat per entry.
PRUNE_WHEN_ENTRIES_OVER = 2.0
PRUNE_SLACK = 1000  # and this many more: a small corpus never pays for it
STORE_BATCH = 4096  # entries the main process stores in one transaction
BUSY_TIMEOUT_MS = 10_000  # another run's transaction is short: waiting beats dropping the entries
_TAG_MAKER = "created by articles."
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    f"# This file is a cache directory tag {_TAG_MAKER}\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
_DATABASE = re.compile(r"[0-9a-f]{24}\.sqlite")  # a run key's database: the only files of ours in LAYOUT
# The libraries whose versions can change a verdict or a record.
_LIBRARIES = (
    "pyyaml",
    "rapidyaml",
    "orjson",
    "jsonschema",
    "jsonschema-rs",
    "rfc3339-validator",
    "rfc3986-validator",
    "fqdn",
)
_TABLES = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, mode INTEGER NOT NULL,
    digest BLOB NOT NULL,
    url TEXT, url_line INTEGER, url_column INTEGER,
    checked_ns INTEGER NOT NULL,
    reusable INTEGER NOT NULL,
    stamp BLOB  -- Entry.stamp: set when the entry can stand in for a check of a file with this stat tuple
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (path TEXT PRIMARY KEY, digest BLOB NOT NULL, record BLOB NOT NULL);
"""


ENTRY_COLUMNS = "path, size, mtime_ns, inode, ctime_ns, mode, digest, url, url_line, url_column, checked_ns, reusable"
# A stat tuple packed, for one comparison of bytes: inodes unsigned, times signed, as the system gives them.
_STAMP = struct.Struct("<QqQqQ")
_INODE_BITS = (1 << 64) - 1
# A chunk's entries are read by the range of their keys, when it holds no more than this many
# times the entries asked for (files that sort between the chunk's but were not asked for).
_RANGE_SLACK = 4


def settled_before(started_ns: int) -> int:
    """The racy rule: a file whose mtime and ctime are both earlier than this was changed safely before a run
    that started at `started_ns`, and its stat tuple can stand for its bytes (the cache's, and a load's ledger)."""
    return started_ns - RACY_MARGIN_NS


class CacheWarning(Exception):
    """The cache cannot be used as it is: one warning line, and the run goes on without it."""


class Stat(NamedTuple):
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int
    mode: int

    @classmethod
    def of(cls, result: os.stat_result) -> Stat:
        # SQLite keeps signed 64-bit integers; some file systems (overlayfs, CIFS, FUSE) hand out larger inodes.
        inode = result.st_ino - (1 << 64) if result.st_ino >= 1 << 63 else result.st_ino
        return cls(result.st_size, result.st_mtime_ns, inode, result.st_ctime_ns, result.st_mode)

    @property
    def storable(self) -> bool:
        """Times SQLite can keep: a file stamped after 2262 is never cached (its time would wrap round)."""
        return min(self.mtime_ns, self.ctime_ns) >= -(1 << 63) and max(self.mtime_ns, self.ctime_ns) < 1 << 63


class Entry(NamedTuple):
    """What the cache knows of one valid file: a row of the files table, and its record.

    Flat, as the row is, so that a row becomes an entry at once: a warm run
    makes one for every file.
    """

    path: str  # as CacheSettings.key_of gives it
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int
    mode: int
    digest: bytes
    url: str | None
    url_line: int | None
    url_column: int | None
    checked_ns: int  # when the run that stored it started
    # 0 for a valid file with a warning: its verdict is not reused (the warning must be reported
    # again), but its webUrl is known, for --corpus.
    reusable: int
    record: bytes | None = None  # packed (pack_record); None where no export has read the file

    @classmethod
    def of(
        cls, path: str, stat: Stat, digest: bytes, result: FileResult, checked_ns: int, record: bytes | None
    ) -> Entry:
        """The entry of a file just found valid."""
        line, column = result.url_position if result.url_position is not None else (None, None)
        reusable = 0 if result.warnings else 1
        return cls(path, *stat, digest, result.url, line, column, checked_ns, reusable, record)

    @property
    def url_position(self) -> Position | None:
        return position_at(self.url_line, self.url_column)

    def stands_in(self, keep_record: bool) -> bool:
        """Whether this entry can stand in for a check, if its file is unchanged: a reusable verdict,
        and the record too when the run keeps records."""
        return self.reusable == 1 and (self.record is not None or not keep_record)

    def trusted(self, stat: Stat) -> bool:
        """The file is as it was when checked: the same stat tuple, and changed safely before that run.
        (Whether its verdict can be reused is `reusable`'s to say.)"""
        return stat == self[1:6] and self._settled

    @property
    def _settled(self) -> bool:
        """The file was changed safely before the run that stored the entry (the racy rule)."""
        return max(self.mtime_ns, self.ctime_ns) < settled_before(self.checked_ns)

    def restated(self, stat: Stat, checked_ns: int) -> Entry:
        """The same file, with the same bytes, found with another stat tuple (a touch, a fresh checkout)."""
        return self._replace(size=stat.size, mtime_ns=stat.mtime_ns, inode=stat.inode, ctime_ns=stat.ctime_ns,
                             mode=stat.mode, checked_ns=checked_ns)  # fmt: skip

    @property
    def stamp(self) -> bytes | None:
        """The stat tuple (packed) of a file this entry can stand in for a check of, if it can stand in
        for one at all: a reusable verdict, safely older than the run that stored it (see trusted()).
        FileCache.hit_rows() needs no more than this to reuse a verdict."""
        if self.reusable != 1 or not self._settled:
            return None
        return _STAMP.pack(self.size, self.mtime_ns, self.inode & _INODE_BITS, self.ctime_ns, self.mode)

    def result(self, name: str, keep_record: bool) -> FileResult:
        """The result a check of the file would give: valid, with its webUrl (and record)."""
        record = unpack_record(self.record) if keep_record and self.record is not None else None
        return FileResult(name, record=record, url=self.url, url_position=self.url_position)


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """Where this run's database is, and when the run started (the racy rule's reference).

    Files under `base`, the folder that holds the cache folder, are known by
    their path relative to it, so that a checkout moved elsewhere (a CI
    runner's, say) keeps its cache; others by their absolute path.
    """

    database: str
    started_ns: int
    base: str

    def key_of(self, absolute: str) -> str:
        if absolute.startswith(self.base) and absolute[len(self.base) : len(self.base) + 1] == os.sep:
            return absolute[len(self.base) + 1 :]
        return absolute

    def path_of(self, key: str) -> str:
        return os.path.join(self.base, key)


_stat_fields = operator.attrgetter("st_size", "st_mtime_ns", "st_ino", "st_ctime_ns", "st_mode")  # as _STAMP packs them


def digest_of(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:16]  # with SHA instructions, twice as fast as blake2b here


def cache_folder(given: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: the one given, else $ARTICLES_CACHE_DIR, else .articles_cache here."""
    return Path(given or os.environ.get(ENVIRONMENT_VARIABLE) or FOLDER)


def run_key(schema: dict[str, Any], limits: Limits) -> str:
    """A digest of everything a file's verdict and record depend on, besides the file itself.

    The options that only choose files (--include, --exclude), say how to
    report, or how to write (the export formats' options) are not in it: the
    cache keeps per-file verdicts and records, which they do not change, and
    the records go through the writer afresh on every run. --strict is not
    in it either: the verdict of a file with a warning is never reused.
    """
    identity = {
        "articles": __version__,
        "layout": LAYOUT,
        "tables": _TABLES,  # a database made for other tables is another key's
        "python": sys.version,
        "libraries": installed_versions(_LIBRARIES),
        # The schema is one document: the validator resolves no $ref outside it.
        "schema": schema,
        "limits": limits.identity(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def installed_versions(names: Sequence[str]) -> dict[str, str]:
    """Each distribution's version ("" if it is not installed), as importlib.metadata finds it first on
    sys.path, from the names of the `NAME-VERSION.dist-info` folders there.

    One listing of each folder, where importlib.metadata.version() took 2 ms
    a name: 8 names were a tenth of a warm run's start. A name found no such
    way (an egg, an unusual installer) is asked of importlib.metadata.
    """
    wanted = {_canonical(name): name for name in names}
    found: dict[str, str] = {}
    for folder in sys.path:
        with contextlib.suppress(OSError):
            for item in sorted(os.listdir(folder or ".")):
                name, _, number = item.removesuffix(".dist-info").partition("-")
                if item.endswith(".dist-info") and (given := wanted.get(_canonical(name))) is not None:
                    found.setdefault(given, number)
    missing = [name for name in names if name not in found]
    if missing:
        from importlib.metadata import PackageNotFoundError, version

        for name in missing:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                found[name] = ""
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def prepare(folder: Path, key: str, warnings: list[str], *, index_urls: bool = False) -> CacheSettings:
    """Make the cache folder and this key's database ready; CacheWarning when it cannot be used.

    A database that cannot be read (corrupt, or not a database) is replaced,
    with a line in `warnings`: the cache holds nothing that cannot be had
    again by checking the files. `index_urls` makes the index that looking
    files up by webUrl needs (--corpus); once made, every run keeps it.
    """
    started_ns = time.time_ns()
    _make_folder(folder)
    databases = folder / LAYOUT
    database = databases / f"{key}.sqlite"
    try:
        databases.mkdir(exist_ok=True)
        try:
            _create_tables(database, index_urls)
        except sqlite3.OperationalError:
            raise  # read-only, locked, a full disk: not the database's fault, and not to be removed
        except sqlite3.DatabaseError as error:
            warnings.append(f"the cache {database} cannot be read ({error}): starting it afresh")
            remove_database(database)
            _create_tables(database, index_urls)
    except (OSError, sqlite3.Error) as error:
        raise CacheWarning(f"cannot use the cache in {folder}: {_reason(error)}; this run does not use it") from error
    _remove_unused(databases, keep=database)
    return CacheSettings(str(database), started_ns, os.path.dirname(os.path.abspath(folder)))


def is_ours(folder: Path) -> bool:
    """A folder articles made its cache in: its CACHEDIR.TAG says so (another tool's tag is not ours)."""
    try:
        return _TAG_MAKER in (folder / "CACHEDIR.TAG").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _make_folder(folder: Path) -> None:
    """The folder, with its CACHEDIR.TAG and a .gitignore of everything; never one that is not ours.

    The tag is written first, through a temporary file: a folder holding
    only such temporary files is one that a run starting at the same moment
    is making, and is taken as ours. Another tool's tag is not.
    """
    try:
        if folder.is_dir() and not is_ours(folder) and any(not _our_name(p.name) for p in folder.iterdir()):
            raise CacheWarning(
                f"{folder} is not a cache folder articles made (it has other files, and no CACHEDIR.TAG of "
                "articles); this run does not use it: choose another with --cache-dir"
            )
        folder.mkdir(parents=True, exist_ok=True)
        if not is_ours(folder):
            _write_whole(folder / "CACHEDIR.TAG", _TAG)
            _write_whole(folder / ".gitignore", "# Made by articles: its cache is never committed.\n*\n")
    except OSError as error:
        raise CacheWarning(f"cannot use the cache in {folder}: {_reason(error)}; this run does not use it") from error


def _our_name(name: str) -> bool:
    return name.startswith(".CACHEDIR.TAG.") and name.endswith(".tmp")


def _write_whole(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _create_tables(database: Path, index_urls: bool) -> None:
    with contextlib.closing(connect(str(database))) as connection:
        _write_ahead(connection)
        connection.executescript(_TABLES)
        if index_urls:
            connection.execute("CREATE INDEX IF NOT EXISTS files_by_url ON files (url)")
        connection.execute("SELECT count(*) FROM (SELECT 1 FROM files LIMIT 1)").fetchone()


def _write_ahead(connection: sqlite3.Connection) -> None:
    """Put the database in WAL mode. Switching does not wait on another run's lock as statements do,
    so two runs starting at once try again for a while."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def connect(database: str) -> sqlite3.Connection:
    connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    # A crash may lose the last transactions, never the database: WAL with NORMAL syncs at checkpoints.
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def remove_database(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{database}{suffix}")


def _databases(folder: Path) -> list[Path]:
    """The run keys' databases in a LAYOUT folder: only files named as articles names them."""
    try:
        return sorted(path for path in folder.iterdir() if _DATABASE.fullmatch(path.name))
    except OSError:
        return []


def _remove_unused(databases: Path, keep: Path) -> None:
    """Other run keys' databases (other versions, schemas, limits) not used for UNUSED_DAYS."""
    old = time.time() - UNUSED_DAYS * 86400
    with contextlib.suppress(OSError):
        for database in _databases(databases):
            if database != keep and _last_used(database) < old:
                remove_database(database)


def _last_used(database: Path) -> float:
    times = []
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            times.append(os.stat(f"{database}{suffix}").st_mtime)
    return max(times, default=0.0)


def _reason(error: BaseException) -> str:
    return (error.strerror if isinstance(error, OSError) else None) or str(error)


class FileCache:
    """One process's connection to the run's database: entries read, or written, a chunk at a time.

    Never raises: the first failure is kept in `problem`, and the cache is
    off in this process from then on.
    """

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self.problem: str | None = None
        self.corrupt = False  # the database itself is damaged: the run that sees it removes it
        self._pending: list[Entry] = []
        self._dropped: list[str] = []  # keys of files found invalid: an entry of theirs is stale
        self._unstored: list[Entry] = []  # for store_soon()
        self._undropped: list[str] = []
        self._connection: sqlite3.Connection | None = None
        try:
            self._connection = connect(settings.database)
        except sqlite3.Error as error:
            self._fail(error)

    def entries(self, paths: Sequence[str], with_records: bool) -> dict[str, Entry]:
        """The entries of those of `paths` (keys: see CacheSettings) that the cache knows, with records if asked."""
        if self._connection is None or not paths:
            return {}
        marks = ",".join("?" * len(paths))
        record = "r.record" if with_records else "NULL"
        join = "LEFT JOIN records r ON r.path = f.path AND r.digest = f.digest" if with_records else ""
        query = (
            "SELECT f.path, size, mtime_ns, inode, ctime_ns, mode, f.digest, url, url_line, url_column, checked_ns, "
            f"reusable, {record} FROM files f {join} WHERE f.path IN ({marks})"
        )
        try:
            rows = self._connection.execute(query, list(paths)).fetchall()
        except (sqlite3.Error, UnicodeEncodeError) as error:
            self._fail(error)
            return {}
        return {row[0]: Entry._make(row) for row in rows}

    def hits(
        self,
        names: list[str],
        rows: list[tuple[Any, ...] | None],
        keep_records: bool,
        texts: dict[str, bytes] | None = None,
    ) -> list[FileResult | None]:
        """The result of each file that the cache can stand in for, from its row (hit_rows), else None.
        With `texts`, a record kept as orjson's JSON is not parsed: its text goes there, under the
        file's name, and its result carries no record.
        """
        hits: list[FileResult | None] = []
        for name, row in zip(names, rows, strict=True):
            if row is None:
                hits.append(None)
                continue
            record = None
            if keep_records and texts is not None and (text := json_text(row[5])) is not None:
                texts[name] = text
            elif keep_records:
                record = unpack_record(row[5])
            hits.append(FileResult(name, record=record, url=row[2], url_position=position_at(row[3], row[4])))
        return hits

    def hit_rows(self, names: list[str], keys: list[str], keep_records: bool) -> list[tuple[Any, ...] | None]:
        """The row (key, stamp, url, url_line, url_column, record or None) of each file (named as the run
        names it; `keys`: as CacheSettings says) that the cache can stand in for, as it is now, else None.

        What Entry.trusted and Entry.stands_in decide for an entry, its stamp
        holds, so that a warm run costs a stat and a comparison of bytes a
        file: through whole entries it took twice as long.
        """
        rows = self._stamped(keys, keep_records)
        found: list[tuple[Any, ...] | None] = []
        stat, pack = os.stat, _STAMP.pack
        for name, key in zip(names, keys, strict=True):
            row = rows.get(key)
            try:
                found.append(row if row is not None and row[1] == pack(*_stat_fields(stat(name))) else None)
            except (OSError, struct.error):
                found.append(None)  # gone, or a stat no stamp holds: looked at the long way
        return found

    def _stamped(self, keys: list[str], keep_records: bool) -> dict[str, tuple[Any, ...]]:
        """key -> (key, stamp, url, url_line, url_column, record) of those of `keys` whose entries have a stamp
        (and a record, if asked): read by the keys' range, or, when it holds many others, key by key."""
        if self._connection is None or not keys:
            return {}
        record, join = ("r.record", "JOIN records r ON r.path = f.path AND r.digest = f.digest") if keep_records else (
            "NULL", "")  # fmt: skip
        query = (
            f"SELECT f.path, stamp, url, url_line, url_column, {record} FROM files f {join} WHERE stamp NOT NULL AND "
        )
        limit = _RANGE_SLACK * len(keys) + 16
        try:
            rows = self._connection.execute(
                query + "f.path BETWEEN ? AND ? LIMIT ?", (min(keys), max(keys), limit)
            ).fetchall()
            if len(rows) == limit:  # keys far apart: a folder's files sort apart from a file named like it
                marks = ",".join("?" * len(keys))
                rows = self._connection.execute(query + f"f.path IN ({marks})", keys).fetchall()
        except (sqlite3.Error, UnicodeEncodeError) as error:
            self._fail(error)
            return {}
        return {row[0]: row for row in rows}

    def add(self, entry: Entry) -> None:
        """An entry for the main process to store (take() hands them over)."""
        self._pending.append(entry)

    def drop(self, key: str) -> None:
        """Forget a file found invalid (or unreadable) now, for the main process to do (take()): an entry
        from when it was valid would still give its webUrl to --corpus."""
        self._dropped.append(key)

    def take(self) -> tuple[list[Entry], list[str]]:
        """The entries to store, and the keys to forget, since the last take()."""
        taken = self._pending, self._dropped
        self._pending, self._dropped = [], []
        return taken

    def store_soon(self, entries: Sequence[Entry], dropped: Sequence[str] = ()) -> None:
        """Store entries and forget keys, STORE_BATCH at a time, the rest at flush() or close(): a transaction
        per chunk cost a warm run after a few changes (a handful of entries in every chunk) a tenth of its time."""
        self._unstored.extend(entries)
        self._undropped.extend(dropped)
        if len(self._unstored) + len(self._undropped) >= STORE_BATCH:
            self.flush()

    def flush(self) -> None:
        unstored, undropped = self._unstored, self._undropped
        self._unstored, self._undropped = [], []
        self.store(unstored, undropped)

    def store(self, pending: Sequence[Entry], dropped: Sequence[str] = ()) -> None:
        """Forget the `dropped` keys and store entries, in one transaction."""
        if self._connection is None or not (pending or dropped):
            return
        files = [(*entry[:12], entry.stamp) for entry in pending]
        records = [(e.path, e.digest, e.record) for e in pending if e.record is not None]
        gone = [(key,) for key in dropped]
        try:
            with _transaction(self._connection):
                self._connection.executemany("DELETE FROM files WHERE path = ?", gone)
                self._connection.executemany("DELETE FROM records WHERE path = ?", gone)
                self._connection.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", files)
                self._connection.executemany("INSERT OR REPLACE INTO records VALUES (?,?,?)", records)
        except (sqlite3.Error, OverflowError, UnicodeEncodeError) as error:
            self._fail(error)

    def close(self) -> None:
        if self._unstored or self._undropped:
            self.flush()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _fail(self, error: Exception) -> None:
        # A DatabaseError itself (not OperationalError: locked, read-only, a full disk): the file is damaged.
        self.corrupt = self.corrupt or type(error) is sqlite3.DatabaseError
        then = "; the next run starts it afresh" if self.corrupt else ""
        self.problem = (
            self.problem or f"the cache {self.settings.database} failed: {error}; the run went on without it{then}"
        )
        self.close()


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")  # takes the write lock now: no deadlock between two readers turned writers
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


# -- records -------------------------------------------------------------------
# A record is kept as JSON, read back by orjson, and compressed with LZ4, which halves an
# article's 2.8 KB for 2 µs a read (zlib took 15 µs, zstd 25). orjson writes everything a record
# holds exactly, or refuses it, except a float that is not finite, which it writes as null: a
# record with a null in it is read back and compared, and one that does not come back exactly
# is kept by the standard json module, or, failing that, not kept at all.
_SIZE = struct.Struct("<I")


def pack_record(record: dict[str, Any]) -> bytes | None:
    """The record as bytes that unpack_record turns back into an identical record; None if there are none."""
    text = exact_json(record)
    if text is not None:
        compressed: bytes = _lz4().compress(text, asbytes=True)
        return b"z" + _SIZE.pack(len(text)) + compressed
    try:
        standard = json.dumps(record, ensure_ascii=True, allow_nan=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return b"j" + standard.encode("ascii") if _identical(json.loads(standard), record) else None


def exact_json(record: dict[str, Any]) -> bytes | None:
    """orjson's text of the record, when it reads back as exactly this record; else None."""
    try:
        text = orjson.dumps(record)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return text if b"null" not in text or _identical(orjson.loads(text), record) else None


def json_text(packed: bytes) -> bytes | None:
    """The JSON text of a record packed as orjson's (b"z"), else None."""
    if packed[:1] != b"z":
        return None
    (size,) = _SIZE.unpack_from(packed, 1)
    text: bytes = _lz4().decompress(packed[1 + _SIZE.size :], decompressed_size=size, asbytes=True)
    return text


def unpack_record(packed: bytes) -> dict[str, Any]:
    text = json_text(packed)
    value: dict[str, Any] = orjson.loads(text) if text is not None else json.loads(packed[1:])
    return value


@functools.cache
def _lz4() -> Any:
    import pyarrow

    return pyarrow.Codec("lz4_raw")


def _identical(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down (1, 1.0 and True are equal in Python)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_identical(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_identical, left, right))
    if isinstance(left, float) and left != left:  # NaN
        return bool(right != right)
    return bool(left == right)


# -- the folder as a whole -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CacheInfo:
    folder: Path
    exists: bool
    size: int  # bytes
    databases: int
    entries: int  # over every database: a file known under two run keys counts twice
    records: int
    unreadable: int  # databases that cannot be read


def cache_info(folder: Path) -> CacheInfo:
    if not is_ours(folder):
        return CacheInfo(folder, False, 0, 0, 0, 0, 0)
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    databases = _databases(folder / LAYOUT)
    entries = records = unreadable = 0
    for database in databases:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
                entries += connection.execute("SELECT count(*) FROM files").fetchone()[0]
                records += connection.execute("SELECT count(*) FROM records").fetchone()[0]
        except sqlite3.Error:
            unreadable += 1
    return CacheInfo(folder, True, size, len(databases), entries, records, unreadable)


def clean(folder: Path) -> list[str]:
    """Remove what articles put in its cache folder, and the folder once empty; -> the names left there.

    OSError when something of ours cannot be removed.
    """
    databases = folder / LAYOUT
    if databases.is_dir():
        for database in _databases(databases):
            remove_database(database)
        with contextlib.suppress(OSError):
            databases.rmdir()  # kept if someone else put files there
    left = sorted(path.name for path in folder.iterdir() if path.name not in (".gitignore", "CACHEDIR.TAG"))
    if left:
        return left  # the tag stays too: the folder is still ours, with what it holds besides
    for name in (".gitignore", "CACHEDIR.TAG"):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    folder.rmdir()
    return []


def prune(settings: CacheSettings, roots: Sequence[str]) -> None:
    """Drop the entries of files under `roots` (absolute folders) that are gone, if they may be many."""
    with (
        contextlib.suppress(sqlite3.Error, UnicodeEncodeError),
        contextlib.closing(connect(settings.database)) as connection,
    ):
        gone: list[str] = []
        for root in roots:
            rows = connection.execute("SELECT path FROM files WHERE path >= ? AND path < ?", keys_under(settings, root))
            gone.extend(key for (key,) in rows if not os.path.lexists(settings.path_of(key)))
        if gone:
            with _transaction(connection):
                connection.executemany("DELETE FROM files WHERE path = ?", [(path,) for path in gone])
                connection.executemany("DELETE FROM records WHERE path = ?", [(path,) for path in gone])


def keys_under(settings: CacheSettings, folder: str) -> tuple[str, str]:
    """The bounds between which the keys of every file under `folder` (absolute) sort."""
    prefix = settings.key_of(folder.rstrip(os.sep)) + os.sep if folder.rstrip(os.sep) != settings.base else ""
    return prefix, prefix + "\U0010ffff"  # no character sorts after U+10FFFF in UTF-8


def entry_count(settings: CacheSettings) -> int:
    with contextlib.suppress(sqlite3.Error), contextlib.closing(connect(settings.database)) as connection:
        count: int = connection.execute("SELECT count(*) FROM files").fetchone()[0]
        return count
    return 0
