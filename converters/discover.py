"""Command-line paths -> the article files under them, in a stable order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from fnmatch import fnmatchcase

DEFAULT_PATTERNS: tuple[str, ...] = ("*.md", "*.markdown", "*.txt", "*.yaml", "*.yml")
STDIN = "-"


class InputError(Exception):
    """Paths that cannot be used: a usage error, not invalid data."""


def find_article_files(paths: Sequence[str], patterns: Sequence[str] = DEFAULT_PATTERNS) -> Iterator[str]:
    """Yield files to check: files as given, directories walked, `-` for stdin.

    Directories are walked depth-first in name order, so runs are reproducible.
    Hidden files and folders are skipped, and directory symlinks are not
    followed (a link loop cannot trap the walk). Raises InputError for a path
    that does not exist, before anything is yielded.
    """
    for path in paths:
        if path != STDIN and not os.path.lexists(path):
            raise InputError(f"path does not exist: {path}")
    for root in _distinct_roots(paths):
        if root == STDIN or not os.path.isdir(root):
            yield root
        else:
            yield from _walk(root, patterns)


def _distinct_roots(paths: Sequence[str]) -> list[str]:
    """Drop repeats and paths inside another given directory, so no file is read twice."""
    if STDIN in paths and paths.count(STDIN) > 1:
        raise InputError("`-` (standard input) can be given only once")
    real = {path: os.path.realpath(path) for path in paths if path != STDIN}
    directories = [r for p, r in real.items() if os.path.isdir(r)]
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
    return path.startswith(directory.rstrip(os.sep) + os.sep)


def _walk(root: str, patterns: Sequence[str]) -> Iterator[str]:
    # An explicit stack, not recursion: a deep tree cannot hit the recursion limit.
    stack = [root]
    by_path = any("/" in pattern for pattern in patterns)  # else the relative path is never looked at
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            yield directory  # reading it reports the error against this path
            continue
        subdirectories = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirectories.append(entry.path)
            elif _readable_kind(entry) and _matches(
                entry.name, os.path.relpath(entry.path, root) if by_path else entry.name, patterns
            ):
                yield entry.path
        stack.extend(reversed(subdirectories))


def _readable_kind(entry: os.DirEntry[str]) -> bool:
    """Regular files, and broken links so they are reported; never a FIFO or device,
    whose open() could block the whole run."""
    try:
        return entry.is_file() or (entry.is_symlink() and not os.path.exists(entry.path))
    except OSError:
        return True  # let reading it report the problem


def _matches(name: str, relative: str, patterns: Iterable[str]) -> bool:
    relative = relative.replace(os.sep, "/")
    return any(fnmatchcase(relative if "/" in pattern else name, pattern) for pattern in patterns)
