"""The engines people load Parquet with read ours with the right types: DuckDB, Polars, PySpark.

Each reads the exported file and two partitioned datasets, and must see
publishedDateTime as a UTC timestamp, provider as a struct, topics, images and
related as lists, and the source's row count and values. Partitioned by
category, the files do not hold that column: each engine gets it back, as
text, from the directory names alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import exported_golden_corpus
from test_export import _records


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


SOURCE = sorted(_records(), key=lambda r: r["webUrl"])
EXPECTED = [
    (r["webUrl"], r["category"], r["title"], _instant(r["publishedDateTime"]), r["provider"]["name"],
     r.get("topics"), len(r.get("images", [])), len(r.get("related", [])))
    for r in SOURCE
]  # fmt: skip
OUTPUTS = {
    "file": ("articles.parquet", []),
    "by-date": ("dataset", ["--partition-by", "published_date"]),
    "by-category": ("dataset", ["--partition-by", "category"]),
}


@pytest.fixture(scope="module", params=list(OUTPUTS))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    name, options = OUTPUTS[request.param]
    out = exported_golden_corpus(tmp_path_factory.mktemp("consumers") / name, *options)
    if request.param == "by-category":
        for part in out.rglob("*.parquet"):
            assert "category" not in pq.read_schema(part).names, "the partition column is in the path only"
    return out


def _partition(dataset: Path) -> str:
    return next(folder.name.split("=")[0] for folder in dataset.iterdir() if "=" in folder.name)


def _normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Engines return empty and absent lists differently; the source has no empty list of images or related."""
    return sorted((url, category, title, when, name, topics, images or 0, related or 0)
                  for url, category, title, when, name, topics, images, related in rows)  # fmt: skip


# -- DuckDB ------------------------------------------------------------------------------------


def test_duckdb(exported: Path) -> None:
    source = f"{exported}/**/*.parquet" if exported.is_dir() else str(exported)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    # hive_types: without it DuckDB guesses each partition's type from its values.
    hive = (
        f", hive_partitioning = true, hive_types = {{{_partition(exported)!r}: VARCHAR}}" if exported.is_dir() else ""
    )
    relation = f"read_parquet('{source}'{hive})"
    types = dict(
        connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
    )
    assert types["publishedDateTime"] == "TIMESTAMP WITH TIME ZONE"
    assert types["category"] == "VARCHAR"
    assert types["provider"].startswith("STRUCT(")
    assert types["topics"] == "VARCHAR[]"
    assert types["images"].endswith("[]")
    assert types["related"].endswith("[]")
    rows = connection.execute(
        f"""SELECT "webUrl", category, title, epoch_us("publishedDateTime"), provider.name, topics, len(images),
                   len(related)
            FROM {relation}"""
    ).fetchall()
    rows = [(u, c, t, datetime.fromtimestamp(us / 1e6, UTC), *rest) for u, c, t, us, *rest in rows]
    assert _normalise(rows) == _normalise(EXPECTED)


# -- Polars ------------------------------------------------------------------------------------


def test_polars(exported: Path) -> None:
    pl = pytest.importorskip("polars")
    frame = (
        pl.scan_parquet(
            f"{exported}/**/*.parquet", hive_partitioning=True, hive_schema={_partition(exported): pl.String}
        ).collect()
        if exported.is_dir()
        else pl.read_parquet(exported)
    )
    assert frame.schema["publishedDateTime"] == pl.Datetime(time_unit="us", time_zone="UTC")
    assert frame.schema["category"] == pl.String
    assert isinstance(frame.schema["provider"], pl.Struct)
    assert frame.schema["topics"] == pl.List(pl.String)
    assert isinstance(frame.schema["images"], pl.List)
    assert isinstance(frame.schema["related"], pl.List)
    rows = frame.select(
        "webUrl", "category", "title", "publishedDateTime", pl.col("provider").struct.field("name"), "topics",
        pl.col("images").list.len(), pl.col("related").list.len(),
    ).rows()  # fmt: skip
    assert _normalise(rows) == _normalise(EXPECTED)


# -- PySpark -----------------------------------------------------------------------------------


def test_pyspark(spark: Any, exported: Path) -> None:
    from pyspark.sql import functions as f
    from pyspark.sql import types as t

    frame = spark.read.parquet(str(exported))
    fields = {field.name: field.dataType for field in frame.schema.fields}
    assert isinstance(fields["publishedDateTime"], t.TimestampType)  # an instant, shown in the session's UTC
    assert isinstance(fields["category"], t.StringType)
    assert isinstance(fields["provider"], t.StructType)
    assert fields["topics"] == t.ArrayType(t.StringType(), True)
    assert isinstance(fields["images"], t.ArrayType)
    assert isinstance(fields["related"], t.ArrayType)
    rows = frame.select(
        "webUrl", "category", "title", f.unix_micros("publishedDateTime"), "provider.name", "topics",
        f.size("images"), f.size("related"),
    ).collect()  # fmt: skip
    # Spark's size() of a null list is -1, or null in ANSI mode (Spark 4's default).
    rows = [(u, c, t_, datetime.fromtimestamp(us / 1e6, UTC), n, topics, max(i or 0, 0), max(r or 0, 0))
            for u, c, t_, us, n, topics, i, r in rows]  # fmt: skip
    assert _normalise(rows) == _normalise(EXPECTED)
