"""Object storage: `s3://bucket/key` wherever a path goes, read and written as safely as a local disk.

A URI names an object (one file) or, when no object has that key, a prefix,
walked as a folder is: a `/` in a key separates folders. One store module per
scheme, chosen from STORES, imported on first use; the store's client library
is an extra (`pip install 'articles[s3]'`), named in the error when missing.

Stores are configured the way their users already configure them (for S3:
AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...), never by an
option of ours. Every failure is a StorageError naming the URI, in one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from converters.discover import InputError
from converters.registry import import_named

STORES: dict[str, str] = {"s3": "converters.storage.s3:S3Store"}
EXTRAS: dict[str, str] = {"s3": "s3"}
# The metadata key that marks an object as written by articles (S3 keeps it as x-amz-meta-articles-output).
OURS = "articles-output"
# A conditional write's "only if there is no object there yet", where an ETag would say "only if unchanged".
ABSENT = "*"


class StorageError(InputError):
    """A URI that cannot be used: a missing bucket, refused credentials, an unreachable endpoint."""


class Conflict(OSError):
    """A conditional write lost: the object changed (another run published) since it was read."""


@dataclass(frozen=True, slots=True)
class Uri:
    scheme: str
    bucket: str
    key: str

    @classmethod
    def parse(cls, text: str) -> Uri:
        scheme, _, rest = text.partition("://")
        bucket, _, key = rest.partition("/")
        if scheme not in STORES or not bucket:
            raise StorageError(f"{text}: not a storage URI (expected {', '.join(f'{s}://BUCKET/KEY' for s in STORES)})")
        return cls(scheme, bucket, key)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}"

    def child(self, key: str) -> Uri:
        return Uri(self.scheme, self.bucket, key)

    @property
    def folder(self) -> str:
        """The key as a prefix to list under: `corpus/` for `corpus` or `corpus/`, `` for the bucket."""
        return self.key.rstrip("/") + "/" if self.key.strip("/") else ""


class Store(Protocol):
    """One scheme's client; made once per process (see store_for), so safe to use from its threads."""

    def kind(self, uri: Uri) -> Literal["object", "prefix"] | None:
        """An object with this key, else a prefix with objects under it, else None."""
        ...

    def level(self, prefix: Uri) -> tuple[list[str], list[str]]:
        """The object keys and the sub-prefixes directly under a prefix, each sorted."""
        ...

    def read(self, uri: Uri, limit: int) -> bytes:
        """At most `limit` bytes of an object; OSError when it cannot be read."""
        ...

    def read_many(self, uris: Sequence[Uri], limit: int) -> Iterator[bytes | OSError]:
        """Each object's first `limit` bytes, in order, fetched many at a time."""
        ...

    def download(self, uri: Uri, path: str) -> None: ...

    def metadata(self, uri: Uri) -> dict[str, str] | None:
        """An object's user metadata, or None when there is no such object."""
        ...

    def head(self, uri: Uri) -> tuple[dict[str, str], str] | None:
        """An object's user metadata and ETag, or None when there is no such object."""
        ...

    def check_bucket(self, uri: Uri) -> None:
        """StorageError unless the bucket exists and can be reached."""
        ...

    def upload(self, path: str, uri: Uri, metadata: dict[str, str], unless_changed: str | None = None) -> None:
        """Publish a local file as the object, whole or not at all; OSError when it fails.

        With `unless_changed` (an ETag, or ABSENT), only if the object is still as it was (Conflict if
        not); a multipart upload (a large file) is not conditional.
        """
        ...

    def keys(self, prefix: Uri) -> Iterator[str]:
        """Every key under a prefix, at any depth."""
        ...

    def versions(self, uris: Sequence[Uri]) -> dict[str, tuple[int, str]]:
        """The size and ETag of each object (by key) that one listing of the keys' range finds.

        One LIST answers for up to 1,000 objects, where a GET or a HEAD answers
        for one: the cache asks this of a chunk, and fetches only what changed.
        """
        ...

    def read_tagged(self, uri: Uri) -> tuple[bytes, str] | None:
        """An object and its ETag, or None when there is no such object."""
        ...

    def put_unless_changed(self, uri: Uri, body: bytes, tag: str | None, metadata: dict[str, str]) -> None:
        """Write the object only if it still has ETag `tag` (or, for None, does not exist); else Conflict."""
        ...

    def delete(self, uris: Sequence[Uri]) -> None: ...

    def abort_unfinished(self, uri: Uri) -> int:
        """Abort the multipart uploads of this key left unfinished (a killed run's); -> how many."""
        ...


_stores: dict[tuple[int, str], Store] = {}


def store_for(uri: Uri) -> Store:
    """The scheme's store for this process: clients hold connections, which a forked worker must not share."""
    key = (os.getpid(), uri.scheme)
    if key not in _stores:
        try:
            store_class = import_named(STORES[uri.scheme])
        except ImportError as error:
            raise StorageError(
                f"{uri}: reading and writing {uri.scheme}:// needs the {EXTRAS[uri.scheme]} extra: "
                f"pip install 'articles[{EXTRAS[uri.scheme]}]' ({error.name} is missing)"
            ) from error
        try:
            _stores[key] = store_class()
        except StorageError as error:  # the client's own configuration: a profile, an endpoint
            raise StorageError(f"{uri}: {error}") from error
    return _stores[key]


def walk(root: Uri, excluded: Exclusion, included: Inclusion) -> Iterator[str]:
    """Every object under a prefix, as a folder walk yields files: a level's objects, then its sub-prefixes.

    Hidden names (a segment starting with `.`) are skipped, as on disk, and
    what `excluded` says (of the key relative to the prefix) is left out. A
    dataset that articles wrote there is read as its manifest says, without
    listing: objects it does not name are another run's, unpublished or not
    yet swept, and one it names that has gone (a later run swept it) is an
    error for that file, never a silently shorter dataset.
    """
    store = store_for(root)
    published = _published(store, root)
    if published is not None:
        named = sorted(published, key=_walk_order)
        relatives: Iterable[str] = (r for r in named if not _hidden_or_excluded_on_the_way(r, excluded))
    else:
        relatives = _listed(store, root, excluded)
    for relative in relatives:
        if included(relative.rsplit("/", 1)[-1], relative):
            yield str(root.child(root.folder + relative))


def _listed(store: Store, root: Uri, excluded: Exclusion) -> Iterator[str]:
    """Keys relative to the prefix, level by level; hidden and excluded sub-prefixes are not listed at all."""
    start = len(root.folder)
    stack = [root.folder]
    while stack:
        keys, prefixes = store.level(root.child(stack.pop()))
        for key in keys:
            relative = key[start:]
            # Folder markers (`sub/`, made by consoles) are no files.
            if not key.endswith("/") and not _hidden_or(relative, excluded):
                yield relative
        kept = [p for p in prefixes if not _hidden_or(p[start:].rstrip("/"), excluded)]
        # `2024/` before `2024-01/`, as names sort on disk: compare without the trailing `/`.
        stack.extend(sorted(kept, key=lambda prefix: prefix.rstrip("/"), reverse=True))


def _walk_order(relative: str) -> list[tuple[int, str]]:
    """A folder walk's order: in each folder its files by name, then its subfolders by name."""
    parts = relative.split("/")
    return [(1, part) for part in parts[:-1]] + [(0, parts[-1])]


def _hidden_or_excluded_on_the_way(relative: str, excluded: Exclusion) -> bool:
    """Hidden or excluded itself, or inside such a folder: a walk prunes a folder whole."""
    parts = relative.split("/")
    return any(_hidden_or("/".join(parts[: end + 1]), excluded) for end in range(len(parts)))


def _published(store: Store, root: Uri) -> set[str] | None:
    """The files the manifest at the prefix names (not the manifest itself), or None where there is none."""
    from converters.output import MANIFEST, manifest_files

    found = store.read_tagged(root.child(root.folder + MANIFEST))
    listed = manifest_files(found[0]) if found is not None else None
    return listed - {MANIFEST} if listed is not None else None


def _hidden_or(relative: str, excluded: Exclusion) -> bool:
    return relative.rsplit("/", 1)[-1].startswith(".") or excluded(relative)


class Exclusion(Protocol):
    def __call__(self, relative: str) -> bool: ...


class Inclusion(Protocol):
    def __call__(self, name: str, relative: str) -> bool: ...


__all__ = ["ABSENT", "OURS", "STORES", "Conflict", "StorageError", "Store", "Uri", "store_for", "walk"]
