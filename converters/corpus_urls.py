"""`validate --corpus DIR`: files given by name, checked for a webUrl that another file of their corpus uses.

A pre-commit hook passes the staged files only, so the duplicate check would
compare them with each other alone. The cache knows the webUrl of every
valid file of the corpus (check._refresh brings it up to date first, by the
run's own rules): each URL of the run is looked up there, among the files
that a walk of DIR finds and that are not part of the run (those, the run's
own check sees). A file found there is trusted as the cache trusts it (the
same stat tuple, or the same bytes); one that changed since is read again
for its webUrl now.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Sequence

from converters.cache import ENTRY_COLUMNS, CacheSettings, Entry, Stat, connect, digest_of, keys_under
from converters.check import read_file
from converters.discover import from_here, walk_finds
from converters.findings import FileResult, Position
from converters.limits import Limits
from converters.reader import ReaderError, parse_article


class CorpusUrls:
    def __init__(
        self,
        settings: CacheSettings,
        corpus: str,
        in_run: Sequence[str],
        rules: tuple[Sequence[str], Sequence[str]],
        limits: Limits,
        temporary: str | None,
    ) -> None:
        """`in_run`: the run's paths; files at or under them are the run's own check's. `rules`: the
        run's --include and --exclude. `temporary`: a folder holding a cache made for this run alone,
        removed by close()."""
        self.settings, self.limits, self.temporary = settings, limits, temporary
        self.corpus = os.path.abspath(corpus)
        self.shown_corpus = corpus
        self.in_run = tuple(os.path.realpath(path) for path in in_run)
        self.patterns, self.excludes = rules
        self.warning: str | None = None
        self._connection: sqlite3.Connection | None = None
        self._opened = False

    def others(self, result: FileResult) -> list[tuple[str, Position | None]]:
        """The files of the corpus, outside this run, whose webUrl is the result's now: (name, position)."""
        connection = self._connect()
        if connection is None or result.url is None:
            return []
        try:
            query = f"SELECT {ENTRY_COLUMNS} FROM files WHERE url = ? AND {{}} ORDER BY path"
            entries = [Entry._make((*row, None)) for row in connection.execute(*self._under(query, result.url))]
        except (sqlite3.Error, UnicodeEncodeError) as error:
            self._fail(error)
            return []
        found = []
        for entry in entries:
            path = self.settings.path_of(entry.path)
            if not self._candidate(path):
                continue
            url, position = self._url_now(path, entry)
            if url == result.url:
                found.append((from_here(path), position))
        return found

    def late(self) -> list[FileResult]:
        return []  # a corpus file with a staged file's webUrl is reported on the staged file, whatever the order

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)
            self.temporary = None

    def _connect(self) -> sqlite3.Connection | None:
        """Opened at the first lookup, once the run's workers are forked (see CheckRun._checked)."""
        if not self._opened:
            self._opened = True
            try:
                self._connection = connect(self.settings.database)
                if self._connection.execute(*self._under("SELECT 1 FROM files WHERE {} LIMIT 1")).fetchone() is None:
                    shown = self.shown_corpus
                    self.warning = (
                        f"the cache knows no valid file under {shown}: webUrls are compared among these alone"
                    )
            except (sqlite3.Error, UnicodeEncodeError) as error:
                self._fail(error)
        return self._connection

    def _under(self, query: str, *arguments: str) -> tuple[str, tuple[str, ...]]:
        low, high = keys_under(self.settings, self.corpus)
        return query.format("path >= ? AND path < ?"), (*arguments, low, high)

    def _candidate(self, path: str) -> bool:
        """A file under the corpus that its walk finds, and not one of this run's (however it is named)."""
        if not path.startswith(self.corpus + os.sep) or not walk_finds(self.corpus, path, self.patterns, self.excludes):
            return False
        real = os.path.realpath(path)
        return not any(real == given or real.startswith(given + os.sep) for given in self.in_run)

    def _url_now(self, path: str, entry: Entry) -> tuple[str | None, Position | None]:
        """The file's webUrl as it is now, and where: the cache's, unless the file changed since it was cached."""
        try:
            if entry.trusted(Stat.of(os.stat(path))):
                return entry.url, entry.url_position
            data = read_file(path, self.limits)
        except (OSError, ReaderError):
            return None, None  # gone, or unreadable: nothing to compare with
        if digest_of(data) == entry.digest:
            return entry.url, entry.url_position
        with contextlib.suppress(ReaderError):
            article = parse_article(data, self.limits)
            url = article.record.get("webUrl")
            return (url, article.positions.get(("webUrl",))) if isinstance(url, str) else (None, None)
        return None, None

    def _fail(self, error: Exception) -> None:
        self.warning = f"cannot check webUrls against the corpus in the cache: {error}"
        if self._connection is not None:
            self._connection.close()
            self._connection = None
