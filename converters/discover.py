"""Command-line paths -> the article files under them, in a stable order."""

from __future__ import annotations

import fnmatch
import operator
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

DEFAULT_PATTERNS: tuple[str, ...] = ("*.md", "*.markdown", "*.txt", "*.yaml", "*.yml")
STDIN = "-"
EMPTY_PATH = "an empty path names no file or directory"
URI_SCHEMES = ("s3://",)  # converters.storage.STORES' schemes; kept here so paths are told apart without it


class InputError(Exception):
    """Paths that cannot be used: a usage error, not invalid data."""


def find_article_files(
    paths: Sequence[str],
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    excludes: Sequence[str] = (),
    left_out: list[str] | None = None,
    *,
    force_exclude: bool = False,
) -> Iterator[str]:
    """Yield files to check: files as given, directories walked, `-` for stdin.

    Directories are walked depth-first in name order, so runs are reproducible.
    Hidden files and folders are skipped, and directory symlinks are not
    followed (a link loop cannot trap the walk). What an `excludes` pattern
    matches in a walk is left out (a folder whole, unread), and appended to
    `left_out`. A path given by name is left out too only with `force_exclude`,
    as ruff does: a pre-commit hook, which names the files, needs it; a person
    who names a file means it. Raises InputError for a path that does not
    exist, before anything is yielded.
    """
    uris = [path for path in paths if is_uri(path)]
    for path in paths:
        if not path:
            raise InputError(EMPTY_PATH)
        if path != STDIN and path not in uris and not os.path.lexists(path):
            raise InputError(f"path does not exist: {path}")
    objects = _stored_objects(uris)
    # A prefix in its folder form, `s3://b/corpus/`, so that `s3://b/corpus` given too is seen as the same.
    canonical = {uri: uri if single else uri.rstrip("/") + "/" for uri, single in objects.items()}
    objects = {canonical[uri]: single for uri, single in objects.items()}
    skipped = left_out if left_out is not None else []
    for root in _distinct_roots([canonical.get(path, path) for path in paths]):
        if root in objects:
            yield from _stored_files(root, objects[root], patterns, excludes, skipped, force_exclude=force_exclude)
        elif root != STDIN and force_exclude and is_excluded(from_here(root), excludes, through_folders=True):
            skipped.append(root)
        elif root == STDIN or not os.path.isdir(root):
            yield root
        else:
            yield from _walk(root, patterns, excludes, skipped)


def is_uri(path: str) -> bool:
    """`s3://...`: an object or a prefix in a store (see converters.storage), not a local path."""
    return path.startswith(URI_SCHEMES)


def _stored_objects(uris: Sequence[str]) -> dict[str, bool]:
    """Each URI -> whether it names one object (else a prefix); InputError for one that names neither.

    Asked before anything is yielded, so a mistyped URI fails the run at once.
    """
    if not uris:
        return {}
    from converters.storage import Uri, store_for  # the store's client library loads only for a URI

    found = {}
    for text in uris:
        uri = Uri.parse(text)
        kind = store_for(uri).kind(uri)
        if kind is None:
            raise InputError(f"path does not exist: {text} (no object with that key, and none under it)")
        found[text] = kind == "object"
    return found


def _stored_files(
    root: str,
    single: bool,
    patterns: Sequence[str],
    excludes: Sequence[str],
    skipped: list[str],
    *,
    force_exclude: bool,
) -> Iterator[str]:
    """A URI's files, as a local path's: an object named is itself; a prefix is walked like a folder."""
    from converters.storage import Uri, walk

    uri = Uri.parse(root)
    if single:
        if force_exclude and is_excluded(uri.key, excludes, through_folders=True):
            skipped.append(root)
        else:
            yield root
        return
    rules = ExcludeRules.of(excludes)
    noted: set[str] = set()

    def excluded(relative: str) -> bool:
        if not rules.match(relative):
            return False
        if relative not in noted:  # a manifest's files ask again for each folder on their way
            noted.add(relative)
            skipped.append(str(uri.child(uri.folder + relative)))
        return True

    yield from walk(uri, excluded, Patterns.of(patterns).match)


@dataclass(frozen=True, slots=True)
class Walk:
    """find_article_files's arguments as one value: what to look for, and where."""

    paths: tuple[str, ...]
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    excludes: tuple[str, ...] = ()
    force_exclude: bool = False

    def files(self) -> Iterator[str]:
        return find_article_files(self.paths, self.patterns, self.excludes, force_exclude=self.force_exclude)


def is_excluded(relative: str, excludes: Sequence[str], *, through_folders: bool = False) -> bool:
    """Whether a path (relative, `/`-separated) is excluded.

    A pattern without `/` is matched against the name (`README.md`, `drafts`),
    one with `/` against the whole path (`tests/cases`, `docs/*.md`, and
    `/tests` for the folder at the top alone), with fnmatch, so `*` crosses
    `/` as in --include. A walk meets every folder on the way and prunes
    those excluded; a path given by name has not been walked, so with
    `through_folders` each folder on it is matched as well.
    """
    return ExcludeRules.of(excludes).match(relative, through_folders=through_folders)


@dataclass(frozen=True, slots=True)
class ExcludeRules:
    """--exclude patterns compiled once per run, since a walk matches every entry against them all."""

    names: re.Pattern[str] | None
    paths: re.Pattern[str] | None

    @classmethod
    def of(cls, excludes: Sequence[str]) -> ExcludeRules:
        by_path = [p.strip("/") for p in excludes if "/" in p.strip("/") or p.startswith("/")]
        by_name = [p.strip("/") for p in excludes if not ("/" in p.strip("/") or p.startswith("/"))]
        return cls(_any_of(by_name), _any_of(by_path))

    def match(self, relative: str, *, through_folders: bool = False) -> bool:
        parts = [part for part in relative.split("/") if part not in ("", ".")]
        if not parts:
            return False
        names = parts if through_folders else parts[-1:]
        if self.names is not None and any(self.names.match(name) for name in names):
            return True
        if self.paths is None:
            return False
        paths = ["/".join(parts[: end + 1]) for end in range(len(parts))] if through_folders else ["/".join(parts)]
        return any(self.paths.match(path) for path in paths)


def _any_of(globs: Sequence[str]) -> re.Pattern[str] | None:
    """One regular expression matching what fnmatchcase matches for any of the globs."""
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs)) if globs else None


class _WalkExcludes:
    """Whether a walked entry is excluded, as seen from the folder given or from the current directory.

    Both relative paths are made by slicing the entry's path, which starts with
    the root's, rather than by os.path.relpath, which costs more than the match.
    """

    def __init__(self, root: str, excludes: Sequence[str]) -> None:
        self.rules = ExcludeRules.of(excludes)
        self.prefix = len(os.path.join(root, ""))
        here = from_here(root)
        self.here = "" if here == "." else here + "/"

    def __call__(self, path: str) -> bool:
        relative = path[self.prefix :].replace(os.sep, "/")
        return self.rules.match(relative) or self.rules.match(self.here + relative)


def walk_finds(root: str, path: str, patterns: Sequence[str], excludes: Sequence[str]) -> bool:
    """Whether walking `root` finds the file `path` under it, by the walk's rules: no hidden name on
    the way, no --exclude matching the file or a folder on the way, and an --include matching it."""
    relative = os.path.relpath(path, root)
    parts = relative.split(os.sep)
    if relative.startswith(os.pardir) or any(part.startswith(".") for part in parts):
        return False
    if excludes:
        left_out = _WalkExcludes(root, excludes)
        if any(left_out(os.path.join(root, *parts[: end + 1])) for end in range(len(parts))):
            return False
    return Patterns.of(patterns).match(parts[-1], relative)


def absolute(path: str, here: str) -> str:
    """os.path.abspath(path), with `here` as the current directory. Asked once per file of a load, and of a warm
    run (the cache's key): a walk's names need no normalizing, and are joined as they are, at a fraction of
    abspath's cost."""
    if _plain(path):
        return path if path[0] == "/" else f"{here}/{path}"
    return os.path.normpath(os.path.join(here, path))


def is_plain_relative(path: str) -> bool:
    """A relative path that absolute() only joins to the current directory."""
    return _plain(path) and path[0] != "/"


def _plain(path: str) -> bool:
    """A path that os.path.normpath leaves as it is: no `.` or `..` part, no doubled `/`, no `/` at the end.
    (A hidden name, `a/.b`, fails too: it then takes the longer way, to the same path.) By substring, which
    costs less than a regular expression."""
    return os.sep == "/" and path[:1] not in (".", "") and "/." not in path and "//" not in path and path[-1:] != "/"


def from_here(path: str) -> str:
    """A path as exclude patterns see it, and as a user names it: relative to the current directory when it
    is inside it, else absolute."""
    relative = os.path.relpath(os.path.abspath(path))
    if relative == ".." or relative.startswith(".." + os.sep):
        return os.path.abspath(path).replace(os.sep, "/")
    return relative.replace(os.sep, "/")


def _distinct_roots(paths: Sequence[str]) -> list[str]:
    """Drop repeats and paths inside another given directory, so no file is read twice."""
    if STDIN in paths and paths.count(STDIN) > 1:
        raise InputError("`-` (standard input) can be given only once")
    real = {path: path if is_uri(path) else os.path.realpath(path) for path in paths if path != STDIN}
    directories = [r for p, r in real.items() if os.path.isdir(r) or (is_uri(r) and r.endswith("/"))]
    kept: list[str] = []
    seen: set[str] = set()
    for path in paths:
        resolved = real.get(path, STDIN)
        inside_other = any(resolved != d and is_within(resolved, d) for d in directories)
        if resolved in seen or inside_other:
            continue
        seen.add(resolved)
        kept.append(path)
    return kept


def is_within(path: str, directory: str) -> bool:
    separator = "/" if is_uri(directory) else os.sep
    return path.startswith(directory.rstrip(separator) + separator)


_NAME = operator.attrgetter("name")  # in C: a lambda cost a tenth of the walk


def _walk(root: str, patterns: Sequence[str], excludes: Sequence[str], skipped: list[str]) -> Iterator[str]:
    # An explicit stack, not recursion: a deep tree cannot hit the recursion limit.
    stack = [root]
    wanted = Patterns.of(patterns)
    # Patterns that look at names alone (as the default ones do) are matched here, a call less a file.
    by_name = wanted.names.match if wanted.paths is None and wanted.names is not None else None
    left_out = _WalkExcludes(root, excludes) if excludes else None
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=_NAME)
        except OSError:
            yield directory  # reading it reports the error against this path
            continue
        subdirectories, files = [], []
        for entry in entries:
            if entry.name[0] == ".":  # a name is never empty
                continue
            if left_out is not None and left_out(entry.path):
                skipped.append(entry.path)  # a folder is left out whole, unread
            elif entry.is_dir(follow_symlinks=False):
                subdirectories.append(entry.path)
            elif _readable_kind(entry) and (
                by_name(entry.name)
                if by_name is not None
                else wanted.match(entry.name, os.path.relpath(entry.path, root))
            ):
                files.append(entry.path)
        yield from files  # a folder's files at once: a generator's step per file cost a fifth of the walk
        stack.extend(reversed(subdirectories))


def _readable_kind(entry: os.DirEntry[str]) -> bool:
    """Regular files, and broken links so they are reported; never a FIFO or device,
    whose open() could block the whole run."""
    try:
        return entry.is_file() or (entry.is_symlink() and not os.path.exists(entry.path))
    except OSError:
        return True  # let reading it report the problem


@dataclass(frozen=True, slots=True)
class Patterns:
    """--include patterns compiled once per walk: a pattern without `/` matches the name, one with it the path."""

    names: re.Pattern[str] | None
    paths: re.Pattern[str] | None

    @classmethod
    def of(cls, patterns: Sequence[str]) -> Patterns:
        return cls(_any_of([p for p in patterns if "/" not in p]), _any_of([p for p in patterns if "/" in p]))

    def match(self, name: str, relative: str) -> bool:
        if self.names is not None and self.names.match(name):
            return True
        return self.paths is not None and self.paths.match(relative.replace(os.sep, "/")) is not None
