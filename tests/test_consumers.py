"""The engines people load Parquet with read ours with the right types: DuckDB, Polars, PySpark.

Each reads the exported file and the partitioned dataset, and must see
publishedDateTime as a UTC timestamp, provider as a struct, topics, images and
related as lists, and the source's row count and values.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import exported_golden_corpus
from test_export import _records


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


SOURCE = sorted(_records(), key=lambda r: r["webUrl"])
EXPECTED = [
    (r["webUrl"], r["title"], _instant(r["publishedDateTime"]), r["provider"]["name"], r.get("topics"),
     len(r.get("images", [])), len(r.get("related", [])))
    for r in SOURCE
]  # fmt: skip


@pytest.fixture(scope="module", params=["file", "dataset"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("consumers")
    if request.param == "file":
        out, options = folder / "articles.parquet", []
    else:
        out, options = folder / "dataset", ["--partition-by", "published_date"]
    return exported_golden_corpus(out, *options)


def _normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Engines return empty and absent lists differently; the source has no empty list of images or related."""
    return sorted((url, title, when, name, topics, images or 0, related or 0)
                  for url, title, when, name, topics, images, related in rows)  # fmt: skip


# -- DuckDB ------------------------------------------------------------------------------------


def test_duckdb(exported: Path) -> None:
    source = f"{exported}/**/*.parquet" if exported.is_dir() else str(exported)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    relation = f"read_parquet('{source}', hive_partitioning = {exported.is_dir()})"
    types = dict(
        connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
    )
    assert types["publishedDateTime"] == "TIMESTAMP WITH TIME ZONE"
    assert types["provider"].startswith("STRUCT(")
    assert types["topics"] == "VARCHAR[]"
    assert types["images"].endswith("[]")
    assert types["related"].endswith("[]")
    rows = connection.execute(
        f"""SELECT "webUrl", title, epoch_us("publishedDateTime"), provider.name, topics, len(images), len(related)
            FROM {relation}"""
    ).fetchall()
    rows = [(u, t, datetime.fromtimestamp(us / 1e6, UTC), *rest) for u, t, us, *rest in rows]
    assert _normalise(rows) == _normalise(EXPECTED)


# -- Polars ------------------------------------------------------------------------------------


def test_polars(exported: Path) -> None:
    pl = pytest.importorskip("polars")
    frame = (
        pl.scan_parquet(f"{exported}/**/*.parquet", hive_partitioning=True).collect()
        if exported.is_dir()
        else pl.read_parquet(exported)
    )
    assert frame.schema["publishedDateTime"] == pl.Datetime(time_unit="us", time_zone="UTC")
    assert isinstance(frame.schema["provider"], pl.Struct)
    assert frame.schema["topics"] == pl.List(pl.String)
    assert isinstance(frame.schema["images"], pl.List)
    assert isinstance(frame.schema["related"], pl.List)
    rows = frame.select(
        "webUrl", "title", "publishedDateTime", pl.col("provider").struct.field("name"), "topics",
        pl.col("images").list.len(), pl.col("related").list.len(),
    ).rows()  # fmt: skip
    assert _normalise(rows) == _normalise(EXPECTED)


# -- PySpark -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("PySpark needs Java (17 or later), and there is no java on PATH")
    sql = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        sql.SparkSession.builder.master("local[1]")
        .appName("articles-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_pyspark(spark: Any, exported: Path) -> None:
    from pyspark.sql import functions as f
    from pyspark.sql import types as t

    frame = spark.read.parquet(str(exported))
    fields = {field.name: field.dataType for field in frame.schema.fields}
    assert isinstance(fields["publishedDateTime"], t.TimestampType)  # an instant, shown in the session's UTC
    assert isinstance(fields["provider"], t.StructType)
    assert fields["topics"] == t.ArrayType(t.StringType(), True)
    assert isinstance(fields["images"], t.ArrayType)
    assert isinstance(fields["related"], t.ArrayType)
    rows = frame.select(
        "webUrl", "title", f.unix_micros("publishedDateTime"), "provider.name", "topics",
        f.size("images"), f.size("related"),
    ).collect()  # fmt: skip
    # Spark's size() of a null list is -1, or null in ANSI mode (Spark 4's default).
    rows = [(u, t_, datetime.fromtimestamp(us / 1e6, UTC), n, topics, max(i or 0, 0), max(r or 0, 0))
            for u, t_, us, n, topics, i, r in rows]  # fmt: skip
    assert _normalise(rows) == _normalise(EXPECTED)
