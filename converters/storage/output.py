"""Outputs at a storage URI, published whole or not at all, like local ones.

A single object (OUT, --rejects, --output-file) is written to a local
temporary file first; on commit it is uploaded in one PUT, or in parts that
are completed only once all are in and aborted on any failure (see the
store's upload). So a failed, interrupted or killed run publishes nothing,
and an existing object stays byte for byte.

A dataset (--partition-by, --normalize) at a prefix has no rename to swap it
in with, so it is published in three steps:
1. its files are uploaded under names no earlier run used (`part-0-RUN.parquet`);
2. the manifest, `PREFIX/_articles_manifest.json`, naming them, is written
   last, and only if it is still the manifest this run saw at its start (a
   conditional PUT): of two runs at once, one wins, and the other deletes
   what it uploaded;
3. the files of the manifest it replaced, and strays of earlier runs that no
   manifest names (a killed run's), are deleted.
articles reads only what the manifest names; other readers see the new files
beside the old ones between steps 1 and 3.

An existing object, or an object under a dataset's prefix, is replaced only
when articles wrote it (its metadata says so: an object cannot change in
place, so that is proof enough), or with --overwrite.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from converters.output import MANIFEST, AtomicOutput, OutputError, manifest_files, manifest_text
from converters.storage import ABSENT, OURS, Conflict, StorageError, Store, Uri, store_for

if TYPE_CHECKING:
    from concurrent.futures import Future

_MARK = {OURS: "1"}
# PUTs at a time when a dataset is published: as many as a worker's GETs (storage.s3.IN_FLIGHT).
UPLOADS_IN_FLIGHT = 16


class StoredOutput(AtomicOutput):
    def _check_destination(self) -> None:
        try:
            self.uri = Uri.parse(self.target)
            self.store: Store = store_for(self.uri)
            self.store.check_bucket(self.uri)
            if self.directory:
                self.dataset = _Dataset.at(self.uri, self.store, overwrite=self.overwrite)
            else:
                self._check_object()
        except StorageError as error:
            raise OutputError(str(error)) from error

    def _check_object(self) -> None:
        if not self.uri.key or self.uri.key.endswith("/"):
            raise OutputError(f"cannot write {self.target}: name the object, not a prefix (…/articles.parquet)")
        existing = self.store.head(self.uri)
        if existing is not None and OURS not in existing[0] and not self.overwrite:
            raise OutputError(
                f"{self.target} exists, and articles did not write it: "
                "choose another key, or give --overwrite to replace it"
            )
        # Replaced at commit only if it is still what was checked now: someone else's object put
        # there meanwhile is not overwritten, and of two runs at once one wins.
        self.unless_changed = None if self.overwrite else existing[1] if existing is not None else ABSENT

    def _is_special(self) -> bool:
        return False

    def open_file(self) -> BinaryIO:
        descriptor, self._temporary = tempfile.mkstemp(prefix="articles-upload-", suffix=".tmp")
        self._stream = os.fdopen(descriptor, "wb")
        return self._stream

    def open_directory(self) -> Path:
        self._temporary = tempfile.mkdtemp(prefix="articles-upload-", suffix=".tmp")
        return Path(self._temporary)

    def commit(self) -> None:
        assert self._temporary is not None
        if self.directory:
            self.size = self.dataset.publish(self._temporary)
            shutil.rmtree(self._temporary, ignore_errors=True)
        else:
            assert self._stream is not None
            self._stream.close()
            self.size = os.path.getsize(self._temporary)
            # A run killed mid-upload cannot abort its upload: the next run to the key does. A run
            # uploading to this key right now loses its upload, and with it the race it would have lost.
            with contextlib.suppress(StorageError):
                self.store.abort_unfinished(self.uri)
            self.store.upload(self._temporary, self.uri, _MARK, self.unless_changed)  # OSError: nothing published
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temporary)
        self._temporary = None
        self.committed = True


class _Dataset:
    """A dataset's prefix as this run found it: the manifest's ETag and files, and strays of earlier runs."""

    def __init__(self, prefix: Uri, store: Store, tag: str | None, previous: set[str], strays: list[str]) -> None:
        self.prefix, self.store, self.tag, self.previous, self.strays = prefix, store, tag, previous, strays

    @classmethod
    def at(cls, uri: Uri, store: Store, *, overwrite: bool) -> _Dataset:
        prefix = uri.child(uri.folder)
        if not prefix.key:
            raise OutputError(f"cannot write a dataset to {uri}: give a prefix in the bucket (…/dataset/)")
        found = store.read_tagged(prefix.child(prefix.key + MANIFEST))
        listed = manifest_files(found[0]) if found is not None else set()
        if listed is None and not overwrite:
            raise OutputError(f"{prefix}{MANIFEST} is not a manifest of articles: give --overwrite to replace it")
        previous = listed or set()
        strays = []
        for key in store.keys(prefix):
            relative = key[len(prefix.key) :]
            if relative in previous:
                continue
            if overwrite or _a_part_of_ours(store, prefix.child(key)):
                strays.append(relative)
            elif store.metadata(prefix.child(key)) is not None:  # gone since the listing: nothing to keep
                raise OutputError(
                    f"{prefix} holds objects that are not part of a dataset articles wrote there ({relative}): "
                    "choose another prefix, or give --overwrite to replace all of it"
                )
        return cls(prefix, store, found[1] if found is not None else None, previous, strays)

    def publish(self, folder: str) -> int:
        """Upload the files under `folder` under names of this run's, then the manifest, then sweep."""
        run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        uploaded: list[str] = []
        try:
            size = self._upload(folder, run, uploaded)
            self._publish_manifest(manifest_text(sorted(uploaded)))
        except BaseException as error:
            with contextlib.suppress(OSError):
                self.store.delete([self._uri(name) for name in uploaded])
            if isinstance(error, Conflict):
                message = f"{self.prefix}: another export published there first; this run published nothing"
                raise Conflict(message) from error
            raise
        gone = (self.previous | set(self.strays)) - {MANIFEST, *uploaded}
        with contextlib.suppress(OSError):  # published: what is left over, the next run sweeps
            self.store.delete([self._uri(name) for name in sorted(gone)])
        return size

    def _upload(self, folder: str, run: str, uploaded: list[str]) -> int:
        """Upload the files under `folder` under this run's names, UPLOADS_IN_FLIGHT at a time: a dataset of
        thousands of small parts took a minute one PUT after another. -> the bytes uploaded. `uploaded` gets
        the name of every file uploaded, also when another failed (raised here): the caller deletes them."""
        from concurrent.futures import ThreadPoolExecutor, as_completed

        files = [(_named_for(relative, run), path) for path, relative in _files(folder)]
        pool = ThreadPoolExecutor(UPLOADS_IN_FLIGHT, thread_name_prefix="s3-put")
        started: dict[Future[None], str] = {}
        try:
            for name, path in files:
                started[pool.submit(self.store.upload, path, self._uri(name), _MARK)] = name
            for done in as_completed(started):
                done.result()  # the first failure stops the rest
        finally:
            for upload in started:
                upload.cancel()
            pool.shutdown(wait=True)  # the uploads in flight finish: those that succeeded are named for deletion
            succeeded = [name for upload, name in started.items() if not upload.cancelled() and not upload.exception()]
            uploaded.extend(succeeded)
        return sum(os.path.getsize(path) for _, path in files)

    def _publish_manifest(self, text: bytes) -> None:
        """The conditional write; if its answer was lost (a retry then fails its condition, or Ctrl-C),
        the manifest read back tells whether it was published all the same."""
        manifest = self._uri(MANIFEST)
        try:
            self.store.put_unless_changed(manifest, text, self.tag, _MARK)
        except BaseException:
            with contextlib.suppress(Exception):
                found = self.store.read_tagged(manifest)
                if found is not None and found[0] == text:  # ours: the run's own name is in every file
                    return
            raise

    def _uri(self, relative: str) -> Uri:
        return self.prefix.child(self.prefix.key + relative)


_RUN_NAME = re.compile(r"-\d{8}T\d{6}-[0-9a-f]{8}(\.|$)")


def _a_part_of_ours(store: Store, uri: Uri) -> bool:
    """A dataset file an earlier run of articles uploaded (a run's name in its own, and our mark),
    which no manifest names: a killed run's, or a run that lost the race and could not clean up.
    Any other object, ours or not (a rejects file, a report), is not the sweep's to delete."""
    if not _RUN_NAME.search(uri.key.rsplit("/", 1)[-1]):
        return False
    return OURS in (store.metadata(uri) or {})


def _files(folder: str) -> list[tuple[str, str]]:
    """Every file the writer left in `folder`, with its `/`-separated path relative to it, but our manifest."""
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            if relative != MANIFEST:
                found.append((path, relative))
    return sorted(found, key=lambda item: item[1])


def _named_for(relative: str, run: str) -> str:
    """`category=news/part-0.parquet` -> `category=news/part-0-RUN.parquet`: no two runs write the same key."""
    folder, _, name = relative.rpartition("/")
    stem, dot, extension = name.partition(".")
    unique = f"{stem}-{run}{dot}{extension}"
    return f"{folder}/{unique}" if folder else unique
