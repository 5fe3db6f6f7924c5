"""An output at a storage URI, published whole or not at all, like a local one.

The output is written to a local temporary file first; on commit it is
uploaded in one PUT, or in parts that are completed only once all are in and
aborted on any failure (see the store's upload). So a failed, interrupted or
killed run publishes nothing, and an existing object stays byte for byte.
An existing object is replaced only when articles wrote it (its metadata says
so: an object cannot change in place, so that is proof enough), or with
--overwrite.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from converters.output import AtomicOutput, OutputError
from converters.storage import OURS, StorageError, Uri, store_for


class StoredOutput(AtomicOutput):
    def _check_destination(self) -> None:
        try:
            self.uri = Uri.parse(self.target)
            if self.directory:
                raise OutputError(
                    f"cannot write a dataset to {self.target}: --partition-by and --normalize write to a local "
                    "folder for now; write there, then copy it to the store"
                )
            if not self.uri.key or self.uri.key.endswith("/"):
                raise OutputError(f"cannot write {self.target}: name the object, not a prefix (…/articles.parquet)")
            self.store = store_for(self.uri)
            self.store.check_bucket(self.uri)
            existing = self.store.metadata(self.uri)
        except StorageError as error:
            raise OutputError(str(error)) from error
        if existing is not None and OURS not in existing and not self.overwrite:
            raise OutputError(
                f"{self.target} exists, and articles did not write it: "
                "choose another key, or give --overwrite to replace it"
            )

    def _is_special(self) -> bool:
        return False

    def open_file(self) -> BinaryIO:
        descriptor, self._temporary = tempfile.mkstemp(prefix="articles-upload-", suffix=".tmp")
        self._stream = os.fdopen(descriptor, "wb")
        return self._stream

    def open_directory(self) -> Path:
        raise AssertionError("refused by _check_destination")

    def commit(self) -> None:
        assert self._stream is not None
        assert self._temporary is not None
        self._stream.close()
        self.size = os.path.getsize(self._temporary)
        self.store.upload(self._temporary, self.uri, {OURS: "1"})  # OSError: nothing was published
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temporary)
        self._temporary = None
        self.committed = True
