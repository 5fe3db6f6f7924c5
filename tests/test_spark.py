"""converters.spark: Spark's DataFrames hold exactly what a local export keeps and rejects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import CASES, GOLDEN_CORPUS, RunCli


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden corpus, the invalid cases, and a webUrl used twice."""
    root = tmp_path_factory.mktemp("spark") / "corpus"
    shutil.copytree(GOLDEN_CORPUS, root / "golden")
    shutil.copytree(CASES / "invalid", root / "invalid", ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(GOLDEN_CORPUS / "edge-minimal.md", root / "z-same-url.md")
    return root


@pytest.fixture(scope="module")
def local_export(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from typer.testing import CliRunner

    from converters.cli import app

    folder = tmp_path_factory.mktemp("local")
    out, rejects = folder / "out.parquet", folder / "rejects.jsonl"
    args = ["export", str(corpus), "-o", str(out), "--on-invalid", "skip", "--rejects", str(rejects), "--isolated"]
    assert CliRunner().invoke(app, args).exit_code == 0
    return out, rejects


def test_the_valid_dataframe_is_the_parquet_export(spark: Any, corpus: Path, local_export: tuple[Path, Path]) -> None:
    from converters.spark import read_articles

    valid, _ = read_articles(spark, [str(corpus)])
    from_spark = valid.toArrow()
    exported = pq.read_table(local_export[0])
    assert from_spark.num_rows == exported.num_rows == 5
    assert str(from_spark.schema.field("publishedDateTime").type) == "timestamp[us, tz=UTC]"
    assert from_spark.to_pylist() == exported.to_pylist()


def test_the_rejected_dataframe_holds_what_the_local_export_rejects(
    spark: Any, corpus: Path, local_export: tuple[Path, Path]
) -> None:
    from converters.spark import read_articles

    _, rejected = read_articles(spark, [str(corpus)])
    from_spark = {row["file"]: {e["keyword"] for e in row["errors"]} for row in rejected.collect()}
    local = [json.loads(line) for line in local_export[1].read_text(encoding="utf-8").splitlines()]
    assert from_spark == {r["file"]: {e["keyword"] for e in r["errors"]} for r in local}
    duplicate = str(corpus / "golden" / "edge-minimal.md")  # a folder walk takes files first: z-same-url.md wins
    assert "unique" in from_spark[duplicate]
    raw = {row["file"]: row["raw"] for row in rejected.collect()}
    assert bytes(raw[duplicate]) == (corpus / "golden" / "edge-minimal.md").read_bytes()  # kept, as locally
    assert all(raw[file] is not None for file in raw)  # a folder walk takes files first


def test_articles_schema_format_spark_is_what_spark_reads_from_the_export(
    spark: Any, corpus: Path, local_export: tuple[Path, Path], run_cli: RunCli
) -> None:
    from pyspark.sql.types import StructType

    from converters.spark import read_articles

    printed = run_cli("schema", "--format", "spark")
    assert printed.exit_code == 0
    derived = StructType.fromJson(json.loads(printed.stdout))
    assert derived == spark.read.parquet(str(local_export[0])).schema  # Spark's own reading of the file
    valid, _ = read_articles(spark, [str(corpus)])
    assert valid.schema == derived
