"""The rows a load read, staged as a Parquet file, read back a batch at a time by the targets that cannot read
Parquet themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from converters.load.sql_target import STAGED_ROW_GROUP

BATCH_ROWS = STAGED_ROW_GROUP  # rows a target turns into Python values at once: its peak memory grows with it


def staged_batches(staged: Path, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The staged rows, `rows` at a time, in memory that stays flat. Pre-buffered, the reader fetched every
    row group's column chunks at once, and with threads it decoded ahead (docs/performance.md)."""
    batches: Iterator[pa.RecordBatch] = pq.ParquetFile(staged, pre_buffer=False).iter_batches(rows, use_threads=False)
    return batches
