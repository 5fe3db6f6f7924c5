"""`validate --corpus DIR`: files given by name, checked for a webUrl that another file of their corpus uses.

A pre-commit hook passes the staged files only, so the duplicate check would
compare them with each other alone. The cache knows the webUrl of every
valid file of the corpus (check._refresh brings it up to date first): each
URL of the run is looked up there, among the files under DIR that are not
part of the run (those, the run's own check sees). A file found there is
trusted as the cache trusts it (the same stat tuple, or the same bytes); one
that changed since is read again for its webUrl now.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Sequence

from converters.cache import CacheSettings, Entry, Stat, connect, digest_of, keys_under
from converters.findings import FileResult, Position
from converters.limits import Limits
from converters.reader import ReaderError, parse_article, read_stream


class CorpusUrls:
    def __init__(
        self, settings: CacheSettings, corpus: str, in_run: Sequence[str], limits: Limits, temporary: str | None
    ) -> None:
        """`in_run`: the run's paths, absolute; files at or under them are the run's own check's.
        `temporary`: a folder holding a cache made for this run alone, removed by close()."""
        self.settings, self.limits, self.temporary = settings, limits, temporary
        self.corpus = os.path.abspath(corpus)
        self.in_run = tuple(path.rstrip(os.sep) for path in in_run)
        self.warning: str | None = None
        self._connection: sqlite3.Connection | None = None
        try:
            self._connection = connect(settings.database)
            if self._connection.execute(*self._under("SELECT 1 FROM files WHERE {} LIMIT 1")).fetchone() is None:
                self.warning = f"the cache knows no valid file under {corpus}: webUrls are compared among these alone"
        except sqlite3.Error as error:
            self._fail(error)

    def others(self, result: FileResult) -> list[tuple[str, Position | None]]:
        """The files of the corpus, outside this run, whose webUrl is the result's now: (name, position)."""
        if self._connection is None or result.url is None:
            return []
        try:
            query = "SELECT * FROM files WHERE url = ? AND {} ORDER BY path"
            rows = self._connection.execute(*self._under(query, result.url))
            entries = [Entry._make((*row, None)) for row in rows.fetchall()]
        except sqlite3.Error as error:
            self._fail(error)
            return []
        found = []
        for entry in entries:
            path = self.settings.path_of(entry.path)
            if not self._in_run(path) and self._url_now(path, entry) == result.url:
                found.append((_shown(path), entry.url_position))
        return found

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)
            self.temporary = None

    def _under(self, query: str, *arguments: str) -> tuple[str, tuple[str, ...]]:
        low, high = keys_under(self.settings, self.corpus)
        return query.format("path >= ? AND path < ?"), (*arguments, low, high)

    def _in_run(self, path: str) -> bool:
        return any(path == given or path.startswith(given + os.sep) for given in self.in_run)

    def _url_now(self, path: str, entry: Entry) -> str | None:
        """The file's webUrl as it is now: the cache's, unless the file changed since it was cached."""
        try:
            if entry.trusted(Stat.of(os.stat(path))):
                return entry.url
            with open(path, "rb") as stream:
                data = read_stream(stream, self.limits)
        except (OSError, ReaderError):
            return None  # gone, or unreadable: nothing to compare with
        if digest_of(data) == entry.digest:
            return entry.url
        with contextlib.suppress(ReaderError):
            url = parse_article(data, self.limits).record.get("webUrl")
            return url if isinstance(url, str) else None
        return None

    def _fail(self, error: sqlite3.Error) -> None:
        self.warning = f"cannot check webUrls against the corpus in the cache: {error}"
        self.close()


def _shown(path: str) -> str:
    """A path as a user would name it: relative to the current directory when it is under it."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative
