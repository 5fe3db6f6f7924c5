"""Outputs that appear whole or not at all.

- A regular file is written to a hidden temporary file beside it, fsynced, and
  renamed over it only on success: a failed, interrupted or killed run leaves
  the old file byte for byte (at most a stray `.NAME.*.tmp` after a SIGKILL).
- A directory output (a dataset, normalised tables) is built in a temporary
  directory beside it and swapped in on success.
- `-` (stdout) and targets that are not regular files (`/dev/stdout`, a FIFO)
  are written straight to, never replaced: renaming in `/dev` would replace a
  device node. The data is spooled first, so a run that fails writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

STDOUT = "-"


class OutputError(Exception):
    """An output that cannot be written where asked: a usage error."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicOutput:
    """`with AtomicOutput(target) as out: ...; out.commit()`; leaving without commit() discards."""

    def __init__(self, target: str, *, directory: bool = False) -> None:
        self.target = target
        self.directory = directory
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
        if not self.directory and os.path.isdir(self.target):
            raise OutputError(f"cannot write {self.target}: it is a directory")

    def _is_special(self) -> bool:
        """An existing target that is not a regular file: a device, a FIFO."""
        try:
            mode = os.stat(self.target).st_mode
        except OSError:
            return False
        return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)

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
        os.replace(self._temporary, self.target)
        self._temporary = None
        _fsync_directory(self._parent())

    def _commit_directory(self) -> None:
        assert self._temporary is not None
        for root, _, files in os.walk(self._temporary):
            for file in files:
                self.size += os.path.getsize(os.path.join(root, file))
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


def _fsync_directory(path: str) -> None:
    """Make the rename itself durable, where the platform allows it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
