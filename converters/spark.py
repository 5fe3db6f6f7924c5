"""The corpus as two Spark DataFrames, valid articles and rejected documents, checked by the same chunk function.

    from converters.spark import read_articles
    valid, rejected = read_articles(spark, ["s3://news-bucket/corpus/"])

The driver finds the files (the same walk, in the same order, as a local
run) and hands them to the executors in the chunks a local run cuts; each
executor checks its chunks with check_chunk, through mapInArrow, and returns
the valid records as Arrow data with the schema derived from the JSON Schema
(`articles schema --format spark`). The corpus-wide duplicate-webUrl check is
a window over the results, in path order: the first file with a webUrl keeps
it, as locally; its `unique` finding comes after the file's others, without a
line (the first file's position is not looked up). `raw` is the file's
bytes. Needs the `spark` extra (pyspark); data files (.jsonl, .csv, .parquet)
as input are not read here: Spark reads those itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa

from converters.arrow_schema import arrow_schema
from converters.check import CheckOptions, check_chunk, init_checker, read_file
from converters.discover import find_article_files
from converters.findings import FileResult
from converters.layout import Field, record_layout
from converters.limits import Limits
from converters.parallel import CHUNK_SIZE
from converters.reader import ReaderError
from converters.schema import load_schema, schema_identity
from converters.tables.spark import spark_schema
from converters.writers.base import Encoder, SchemaInfo
from converters.writers.parquet import ArrowBatches, kept_rows

_FINDING = pa.struct(
    [
        ("file", pa.string()),
        ("line", pa.int64()),
        ("column", pa.int64()),
        ("pointer", pa.string()),
        ("keyword", pa.string()),
        ("message", pa.string()),
    ]
)


def read_articles(spark: Any, paths: Sequence[str], check: CheckOptions | None = None) -> tuple[Any, Any]:
    """-> (valid, rejected): the valid articles, in path order, and `file`, `errors` and `raw` of the rest."""
    from pyspark.sql import Window
    from pyspark.sql import functions as f
    from pyspark.sql.types import StructType

    check = check or CheckOptions()
    init_checker(check)  # an unusable schema fails here, in the driver, once
    schema = load_schema(check.schema_path)
    layout = record_layout(schema)
    files = find_article_files(paths, check.patterns, check.excludes, force_exclude=check.force_exclude)
    chunks = _chunks(files)
    frame = spark.createDataFrame(chunks, "chunk long, paths array<string>")
    info = SchemaInfo(layout, *schema_identity(schema))
    output_type = StructType.fromJson(_spark_output_type(layout))
    results = frame.mapInArrow(lambda batches: _checked(batches, check, info), output_type)
    if not check.allow_duplicate_urls:
        earlier = Window.partitionBy("url").orderBy("ordinal")
        first = f.first("file").over(earlier)
        repeated = f.col("url").isNotNull() & (f.row_number().over(earlier) > 1)
        unique = f.struct(
            f.col("file"), f.lit(None).cast("long").alias("line"), f.lit(None).cast("long").alias("column"),
            f.lit("/webUrl").alias("pointer"), f.lit("unique").alias("keyword"),
            f.concat(f.lit("webUrl "), f.col("url"), f.lit(" is also used by "), first).alias("message"),
        )  # fmt: skip
        errors = f.when(repeated, f.concat("errors", f.array(unique))).otherwise(f.col("errors"))
        results = results.withColumn("errors", errors)
        results = results.withColumn("valid", f.col("valid") & ~repeated)
    valid = results.filter("valid").orderBy("ordinal").select("record.*")
    # A file rejected only for its webUrl passed its check, which kept no text: read it again, as the
    # export's rejects file does.
    text = f.coalesce("raw", f.udf(lambda file: _text_of(file, check.limits), "binary")("file"))
    rejected = results.filter("NOT valid").orderBy("ordinal").select("file", "errors", text.alias("raw"))
    return valid, rejected


def _text_of(file: str, limits: Limits) -> bytes | None:
    try:
        return read_file(file, limits)
    except ReaderError:
        return None


def _chunks(files: Iterator[str]) -> list[tuple[int, list[str]]]:
    chunks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for file in files:
        current.append(file)
        if len(current) == CHUNK_SIZE:
            chunks.append((len(chunks), current))
            current = []
    if current:
        chunks.append((len(chunks), current))
    return chunks


def _output_schema(arrow: pa.Schema) -> pa.Schema:
    record = pa.struct(list(arrow))
    return pa.schema(
        [
            ("ordinal", pa.int64()),
            ("file", pa.string()),
            ("valid", pa.bool_()),
            ("url", pa.string()),
            ("errors", pa.list_(_FINDING)),
            ("raw", pa.binary()),
            ("record", record),
        ]
    )


def _spark_output_type(layout: Field) -> dict[str, Any]:
    """The Spark type of the rows _checked returns, as Spark's JSON: the record's is the derived schema."""

    def column(name: str, kind: Any) -> dict[str, Any]:
        return {"name": name, "type": kind, "nullable": True, "metadata": {}}

    finding = {
        "type": "struct",
        "fields": [column(name, "long" if name in ("line", "column") else "string") for name in _FINDING.names],
    }
    return {
        "type": "struct",
        "fields": [
            column("ordinal", "long"),
            column("file", "string"),
            column("valid", "boolean"),
            column("url", "string"),
            column("errors", {"type": "array", "elementType": finding, "containsNull": True}),
            column("raw", "binary"),
            column("record", spark_schema(layout)),
        ],
    }


def _checked(batches: Iterator[pa.RecordBatch], check: CheckOptions, info: SchemaInfo) -> Iterator[pa.RecordBatch]:
    """An executor's part: check each chunk of paths, and return every file's result as one row."""
    options = replace(check, keep_records=True, encode=Encoder(chunk=ArrowBatches(info)))
    init_checker(options)
    arrow = arrow_schema(info.layout, info.schema_id, info.version)
    output = _output_schema(arrow)
    for batch in batches:
        numbers, paths_of = batch.column("chunk").to_pylist(), batch.column("paths").to_pylist()
        for chunk_number, paths in zip(numbers, paths_of, strict=True):
            checked = check_chunk(paths)
            yield _rows(chunk_number, checked.results, checked.rows, checked.encoded, arrow, output)


def _rows(
    chunk_number: int,
    results: list[FileResult],
    rows: list[FileResult],
    encoded: bytes,
    arrow: pa.Schema,
    output: pa.Schema,
) -> pa.RecordBatch:
    valid = kept_rows(encoded, arrow, [True] * len(rows)) if rows else pa.RecordBatch.from_pylist([], schema=arrow)
    records = pa.StructArray.from_arrays(valid.columns, fields=list(arrow))
    at: list[int | None] = []
    taken = 0
    for result in results:
        at.append(taken if result.valid else None)
        taken += result.valid
    return pa.RecordBatch.from_arrays(
        [
            pa.array([chunk_number * CHUNK_SIZE + i for i in range(len(results))], pa.int64()),
            pa.array([r.file for r in results], pa.string()),
            pa.array([r.valid for r in results], pa.bool_()),
            pa.array([r.url for r in results], pa.string()),
            pa.array([[e.as_dict() for e in r.errors] for r in results], pa.list_(_FINDING)),
            pa.array([r.raw for r in results], pa.binary()),
            records.take(pa.array(at, pa.int64())),
        ],
        schema=output,
    )
