"""Validated articles as Arrow record batches, for programs that consume a corpus without writing a file.

This is the seam for other engines: the same checks, in the same order, with
the same schema-derived Arrow schema as `articles export --to parquet`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import pyarrow as pa

from converters.arrow_schema import arrow_schema
from converters.check import CheckOptions, check_paths
from converters.findings import FileResult
from converters.layout import Field, record_layout
from converters.schema import load_schema, schema_identity
from converters.writers.base import Encoder, SchemaInfo
from converters.writers.parquet import ArrowBatches, kept_rows


def article_arrow_schema(check: CheckOptions | None = None) -> pa.Schema:
    """The Arrow schema of the batches (and of the Parquet export), derived from the JSON Schema."""
    return arrow_schema(*_schema_info(check or CheckOptions()))


def record_batches(
    paths: Sequence[str],
    check: CheckOptions | None = None,
    *,
    on_result: Callable[[FileResult], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The valid articles under `paths` (files, folders, URIs), one batch per chunk checked, in path order.

    Invalid files are left out; `on_result` sees every file's result, valid or
    not, before its chunk's batch is yielded, so a caller can stop, count or
    set the invalid ones aside. Raises InputError and SchemaError as
    check_paths does, before anything is yielded. Stopping early (closing the
    generator) stops the workers.
    """
    check = check or CheckOptions()
    layout, schema_id, version = _schema_info(check)
    info = SchemaInfo(layout, schema_id, version)
    arrow = arrow_schema(layout, schema_id, version)
    check = replace(check, keep_records=True, encode=Encoder(chunk=ArrowBatches(info)))
    with contextlib.closing(check_paths(paths, check)) as run:
        for chunk in run.chunks():
            if on_result is not None:
                for result in chunk.results:
                    on_result(result)
            keep = [row.valid for row in chunk.rows]  # a row turns invalid when its webUrl was seen before
            if any(keep):
                yield kept_rows(chunk.encoded, arrow, keep)


def _schema_info(check: CheckOptions) -> tuple[Field, str, str]:
    schema = load_schema(check.schema_path)
    return (record_layout(schema), *schema_identity(schema))
