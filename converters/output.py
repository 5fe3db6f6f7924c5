"""Outputs that appear whole or not at all.

- A regular file is written to a hidden temporary file beside it, fsynced, and
  renamed over it only on success: a failed, interrupted or killed run leaves
  the old file byte for byte (at most a stray `.NAME.*.tmp` after a SIGKILL).
  An existing file is replaced only when it is empty, or when articles wrote
  it and it has not changed since (a stamp in an extended attribute, where
  the file system keeps them), or when the caller says `overwrite`.
- A directory output (a dataset, normalised tables) is built in a temporary
  directory beside it and swapped in on success, with a manifest naming the
  files it holds. An existing directory is replaced only when it is empty, or
  when its manifest names every file in it (an earlier output of articles),
  or when the caller says `overwrite`.
- No output may be an input, lie inside an input directory, or contain an
  input (`refuse_inputs_as_outputs`).
- `-` (stdout) and targets that are not regular files (`/dev/stdout`, a FIFO)
  are written straight to, never replaced: renaming in `/dev` would replace a
  device node. The data is spooled first, so a run that fails writes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

from converters.discover import STDIN, is_uri, is_within

STDOUT = "-"
# Leading `_`: Spark, Hive and pyarrow datasets skip such files when they read the directory.
MANIFEST = "_articles_manifest.json"


class OutputError(Exception):
    """An output that cannot be written where asked: a usage error."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicOutput:
    """`with AtomicOutput(target) as out: ...; out.commit()`; leaving without commit() discards."""

    def __init__(self, target: str, *, directory: bool = False, overwrite: bool = False) -> None:
        self.target = target
        self.directory = directory
        self.overwrite = overwrite
        self._temporary: str | None = None
        self._stream: IO[bytes] | None = None
        self.committed = False
        self.size = 0
        self._check_destination()

    def _check_destination(self) -> None:
        if self.target == STDOUT:
            if self.directory:
                raise OutputError("this output is a directory: give a path, not -")
            return
        parent = self._parent()
        if not os.path.isdir(parent):
            raise OutputError(f"cannot write {self.target}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK) and not self._is_special():
            raise OutputError(f"cannot write {self.target}: directory {parent} is not writable")
        if self.directory and os.path.exists(self.target) and not os.path.isdir(self.target):
            raise OutputError(f"cannot write a dataset to {self.target}: it exists and is not a directory")
        if self.directory and os.path.isdir(self.target) and not self.overwrite:
            foreign = foreign_entry(self.target)
            if foreign is not None:
                raise OutputError(
                    f"{self.target} is a directory that articles did not write ({foreign} is not its output): "
                    "choose another directory, or give --overwrite to replace all of it"
                )
        if not self.directory and os.path.isdir(self.target):
            raise OutputError(f"cannot write {self.target}: it is a directory")
        if not self.directory and not self.overwrite and os.path.isfile(self.target) and not _ours(self.target):
            raise OutputError(
                f"{self.target} exists, and articles did not write it or it has changed since: "
                "choose another name, or give --overwrite to replace it"
            )

    def _is_special(self) -> bool:
        return _is_special_file(self.target)

    # -- opening ----------------------------------------------------------------

    def open_file(self) -> BinaryIO:
        """A binary stream to write the output to."""
        if self.target == STDOUT or self._is_special():
            self._stream = tempfile.SpooledTemporaryFile(max_size=64 * 2**20)  # noqa: SIM115 - closed by commit/discard
        else:
            name = os.path.basename(self.target)
            descriptor, self._temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self._parent())
            self._stream = os.fdopen(descriptor, "wb")
        return self._stream  # type: ignore[return-value]

    def open_directory(self) -> Path:
        """An empty directory to build the output in."""
        name = os.path.basename(os.path.normpath(self.target))
        self._temporary = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=self._parent())
        return Path(self._temporary)

    # -- finishing --------------------------------------------------------------

    def commit(self) -> None:
        if self.directory:
            self._commit_directory()
        elif self._temporary is not None:
            self._commit_file()
        else:
            self._copy_spool()
        self.committed = True

    def _commit_file(self) -> None:
        assert self._stream is not None
        assert self._temporary is not None
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._stream.close()
        mode = os.stat(self.target).st_mode & 0o7777 if os.path.exists(self.target) else 0o666 & ~_umask()
        os.chmod(self._temporary, mode)  # mkstemp makes 0600; keep what the file had, or the usual
        self.size = os.path.getsize(self._temporary)
        # Stamped before the rename, which keeps the attribute and the mtime: a kill right after
        # the rename must not leave an output of ours that a later run takes for someone else's.
        _stamp(self._temporary)
        os.replace(self._temporary, self.target)
        self._temporary = None
        _fsync_directory(self._parent())

    def _commit_directory(self) -> None:
        assert self._temporary is not None
        written = []
        for root, _, files in os.walk(self._temporary):
            for file in files:
                path = os.path.join(root, file)
                self.size += os.path.getsize(path)
                written.append(os.path.relpath(path, self._temporary).replace(os.sep, "/"))
        _write_manifest(self._temporary, sorted(written))
        # mkdtemp makes 0700: keep what the directory had, or what the umask gives a new one.
        mode = os.stat(self.target).st_mode & 0o7777 if os.path.isdir(self.target) else 0o777 & ~_umask()
        os.chmod(self._temporary, mode)
        old = None
        if os.path.exists(self.target):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(self.target)}.", suffix=".old", dir=self._parent())
            os.replace(self.target, os.path.join(old, "previous"))
        os.replace(self._temporary, self.target)
        self._temporary = None
        _fsync_directory(self._parent())
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _copy_spool(self) -> None:
        assert self._stream is not None
        self._stream.seek(0)
        if self.target == STDOUT:
            sys.stdout.flush()
            destination = sys.stdout.buffer
            shutil.copyfileobj(self._stream, destination)
            destination.flush()
        else:
            with open(self.target, "wb") as destination:
                shutil.copyfileobj(self._stream, destination)
        self.size = self._stream.tell()
        self._stream.close()

    def _parent(self) -> str:
        """The directory the output lives in (abspath drops a trailing slash)."""
        return os.path.dirname(os.path.abspath(self.target))

    def discard(self) -> None:
        if self._stream is not None and not self._stream.closed:
            # Closing flushes what is buffered, which fails again on a full disk; the file goes anyway.
            with contextlib.suppress(OSError):
                self._stream.close()
        if self._temporary is not None:
            if os.path.isdir(self._temporary):
                shutil.rmtree(self._temporary, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._temporary)
            self._temporary = None

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if not self.committed:
            self.discard()


def atomic_output(target: str, *, directory: bool = False, overwrite: bool = False) -> AtomicOutput:
    """The output for a local path, `-`, or a storage URI (s3://...), each whole or not at all."""
    if is_uri(target):
        from converters.storage.output import StoredOutput  # the store's client library loads only for a URI

        return StoredOutput(target, directory=directory, overwrite=overwrite)
    return AtomicOutput(target, directory=directory, overwrite=overwrite)


# The size and modification time a file had when articles wrote it, kept with the file itself.
_STAMP = "user.articles.output"


def _stamp_of(path: str) -> bytes:
    status = os.stat(path)
    return f"{status.st_size}:{status.st_mtime_ns}".encode()


def _stamp(path: str) -> None:
    """Mark a file this run wrote. Where the file system keeps no extended attributes (or the
    platform has no os.setxattr), nothing is marked, and replacing the file takes --overwrite."""
    with contextlib.suppress(OSError, AttributeError):
        os.setxattr(path, _STAMP, _stamp_of(path))


def _ours(path: str) -> bool:
    """Whether replacing the file loses nothing: it is empty, or articles wrote it and it is unchanged since."""
    try:
        return os.path.getsize(path) == 0 or os.getxattr(path, _STAMP) == _stamp_of(path)
    except (OSError, AttributeError):
        return False


def manifest_text(files: list[str]) -> bytes:
    """The manifest of a directory output: who wrote it, and every file in it."""
    from converters import __version__

    manifest = {"written_by": "articles", "version": __version__, "files": files}
    return (json.dumps(manifest, indent=1) + "\n").encode("utf-8")


def manifest_files(text: bytes) -> set[str] | None:
    """The files a manifest names, the manifest among them; None when it is not one of ours."""
    try:
        manifest = json.loads(text)
    except ValueError:
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or manifest.get("written_by") != "articles":
        return None
    return {MANIFEST, *(file for file in files if isinstance(file, str))}


def _write_manifest(directory: str, files: list[str]) -> None:
    with open(os.path.join(directory, MANIFEST), "wb") as stream:
        stream.write(manifest_text(files))
        stream.flush()
        os.fsync(stream.fileno())


def _manifest_files(directory: str) -> set[str] | None:
    """The files an earlier run of articles wrote into `directory`, the manifest among them; None without one."""
    try:
        with open(os.path.join(directory, MANIFEST), "rb") as stream:
            return manifest_files(stream.read())
    except OSError:
        return None


def foreign_entry(directory: str) -> str | None:
    """The first thing in `directory` that replacing it would lose, or None.

    Nothing is lost when the directory holds only empty folders and the files
    its manifest names: those are an earlier output of articles. A symbolic
    link is never ours.
    """
    written = _manifest_files(directory) or set()
    for root, folders, files in os.walk(directory):
        folders.sort()
        links = [folder for folder in folders if os.path.islink(os.path.join(root, folder))]
        for name in sorted(files) + links:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, directory).replace(os.sep, "/")
            if relative not in written or os.path.islink(path):
                return relative
    return None


def refuse_inputs_as_outputs(outputs: Sequence[str | None], inputs: Sequence[str]) -> None:
    """OutputError when an output is an input, lies inside an input directory, or contains an input.

    Paths are compared once symbolic links are resolved, before anything is
    read or written. Standard input and output, and outputs that are not
    regular files or directories (/dev/stdout, a FIFO), cannot hold an input.
    """
    # An empty path is no input (finding the files says so): resolved, it would be the current directory.
    sources = [(path, _resolved(path)) for path in inputs if path not in (STDIN, "")]
    for output in outputs:
        if output is None or output == STDOUT or (not is_uri(output) and _is_special_file(output)):
            continue
        resolved = _resolved(output)
        for path, source in sources:
            if resolved == source:
                raise OutputError(f"{output} is also an input: write the output somewhere else")
            if _is_folder(source) and is_within(resolved, source):
                raise OutputError(f"{output} is inside the input directory {path}: write the output outside it")
            if is_within(source, resolved):
                raise OutputError(f"{output} contains the input {path}: write the output somewhere else")


def refuse_outputs_inside(directory: str, others: Sequence[str | None]) -> None:
    """OutputError for an output inside a directory output, which replaces what is in it whole."""
    for other in others:
        if other is not None and other != STDOUT and is_within(_resolved(other), _resolved(directory)):
            raise OutputError(f"{other} is inside the output directory {directory}: write it beside it")


def _resolved(path: str) -> str:
    """A local path with its links resolved; a URI as the prefix it names, without a trailing `/`."""
    return path.rstrip("/") if is_uri(path) else os.path.realpath(path)


def _is_folder(resolved: str) -> bool:
    """A local directory, or any URI: one that names an object has nothing within it to meet."""
    return is_uri(resolved) or os.path.isdir(resolved)


def _is_special_file(path: str) -> bool:
    """An existing path that is neither a regular file nor a directory: a device, a FIFO."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _fsync_directory(path: str) -> None:
    """Make the rename itself durable, where the platform allows it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
