"""`articles schema --format ...`: golden outputs, the DDL executed for real, BigQuery's view of the file."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, RunCli, exported_golden_corpus
from test_export import CORPUS

from converters.tables import DIALECTS, SCHEMA_FORMATS

GOLDEN = REPO / "tests" / "golden" / "schema"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

OUTPUTS = [("arrow", None, "arrow.txt"), ("bigquery", None, "bigquery.json"), ("spark", None, "spark.json")] + [
    ("sql", dialect, f"{dialect}.sql") for dialect in DIALECTS
]


def _schema(run_cli: RunCli, *args: str) -> str:
    result = run_cli("schema", *args)
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


@pytest.mark.parametrize(("format_name", "dialect", "golden"), OUTPUTS, ids=[g for _, _, g in OUTPUTS])
def test_each_output_matches_its_golden_file(
    run_cli: RunCli, format_name: str, dialect: str | None, golden: str
) -> None:
    produced = _schema(run_cli, "--format", format_name, *(["--dialect", dialect] if dialect else []))
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        (GOLDEN / golden).write_text(produced, encoding="utf-8")
    assert produced == (GOLDEN / golden).read_text(encoding="utf-8")


def test_json_schema_is_the_file_byte_for_byte(run_cli: RunCli) -> None:
    assert _schema(run_cli, "--format", "json-schema") == (REPO / "schemas" / "article.schema.json").read_text("utf-8")


def test_every_format_is_tested() -> None:
    assert {f for f, _, _ in OUTPUTS} | {"json-schema"} == set(SCHEMA_FORMATS)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return exported_golden_corpus(tmp_path_factory.mktemp("tables") / "articles.parquet")


def test_the_duckdb_ddl_runs_and_takes_the_parquet_file_as_is(run_cli: RunCli, exported: Path) -> None:
    connection = duckdb.connect()
    connection.execute(_schema(run_cli, "--format", "sql", "--dialect", "duckdb"))
    # No casts, no column list: the table has the file's columns and types.
    connection.execute("INSERT INTO articles SELECT * FROM read_parquet(?)", [str(exported)])
    table = connection.execute("DESCRIBE articles").fetchall()
    file = connection.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(exported)]).fetchall()
    assert [(row[0], row[1]) for row in table] == [(row[0], row[1]) for row in file]
    assert connection.execute("SELECT count(*) FROM articles").fetchone() == (len(list(CORPUS.iterdir())),)


def test_the_sqlite_ddl_runs_and_a_load_makes_that_table(run_cli: RunCli, tmp_path: Path) -> None:
    made = sqlite3.connect(":memory:")
    made.executescript(_schema(run_cli, "--format", "sql", "--dialect", "sqlite"))
    warehouse = tmp_path / "w.sqlite"
    assert run_cli("load", str(CORPUS), "--into", str(warehouse)).exit_code == 0
    loaded = sqlite3.connect(warehouse)
    columns = "SELECT name, type, pk FROM pragma_table_info('articles')"
    assert loaded.execute(columns).fetchall() == made.execute(columns).fetchall()
    assert loaded.execute("SELECT count(*) FROM articles").fetchone() == (len(list(CORPUS.iterdir())),)


def test_sqlite_has_no_schemas(run_cli: RunCli) -> None:
    result = run_cli("schema", "--format", "sql", "--dialect", "sqlite", "--table", "raw.articles")
    assert result.exit_code == 2
    assert "SQLite has no schemas" in result.stderr


def test_sql_table_names_are_quoted_and_a_qualified_one_creates_its_schema(run_cli: RunCli) -> None:
    ddl = _schema(run_cli, "--format", "sql", "--dialect", "duckdb", "--table", "raw.select")
    assert ddl.startswith('CREATE SCHEMA IF NOT EXISTS "raw";\nCREATE TABLE IF NOT EXISTS "raw"."select" (')
    connection = duckdb.connect()
    connection.execute(ddl)
    connection.execute(ddl)  # both statements can run again
    assert connection.execute('SELECT count(*) FROM raw."select"').fetchone() == (0,)


def test_dialect_without_sql_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("schema", "--format", "arrow", "--dialect", "duckdb")
    assert result.exit_code == 2
    assert "--dialect goes with --format sql" in result.stderr


# -- BigQuery: the load job's schema against the Parquet file's own -----------------------------

# How BigQuery reads Parquet types, from its documentation ("Parquet conversions"), not from our code.
_BIGQUERY_FROM_PARQUET = {
    ("BYTE_ARRAY", "String"): "STRING",
    ("INT64", "None"): "INTEGER",
    ("DOUBLE", "None"): "FLOAT",
    ("BOOLEAN", "None"): "BOOLEAN",
    ("INT64", "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, "
     "force_set_converted_type=false)"): "TIMESTAMP",
}  # fmt: skip


def _parquet_fields(fields: Iterable[Any]) -> list[dict[str, Any]]:
    """The Parquet file's schema as BigQuery sees it, with list inference on: a list is REPEATED."""
    return [_parquet_field(field) for field in fields]


def _parquet_field(field: Any) -> dict[str, Any]:
    name, arrow_type, mode = field.name, field.type, "NULLABLE"
    if pa.types.is_list(arrow_type):
        mode, arrow_type = "REPEATED", arrow_type.value_type
    if pa.types.is_struct(arrow_type):
        children = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        return {"name": name, "type": "RECORD", "mode": mode, "fields": _parquet_fields(children)}
    return {"name": name, "type": _bigquery_type(arrow_type), "mode": mode}


def _bigquery_type(arrow_type: Any) -> str:
    names = {"string": "STRING", "int64": "INTEGER", "double": "FLOAT", "bool": "BOOLEAN"}
    if str(arrow_type).startswith("timestamp[us, tz=UTC]"):
        return "TIMESTAMP"
    return names[str(arrow_type)]


def _without_descriptions(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: (_without_descriptions(v) if k == "fields" else v) for k, v in f.items() if k != "description"}
        for f in fields
    ]


@pytest.mark.parametrize("field", ["category", "published_date"])
def test_the_bigquery_schema_for_a_partitioned_dataset_matches_its_part_files(
    run_cli: RunCli, tmp_path: Path, field: str
) -> None:
    """BigQuery refuses hive-partitioned files that also hold the partition key: the schema leaves it out."""
    dataset = exported_golden_corpus(tmp_path / "dataset", "--partition-by", field)
    result = run_cli("schema", "--format", "bigquery", "--partition-by", field)
    assert result.exit_code == 0, result.stderr
    declared = _without_descriptions(json.loads(result.stdout))
    for part in dataset.rglob("*.parquet"):
        assert declared == _parquet_fields(pq.read_schema(part))
    kind = {"category": "STRING", "published_date": "DATE"}[field]
    assert f"--hive_partitioning_source_uri_prefix='gs://BUCKET/PATH/{{{field}:{kind}}}'" in result.stderr


def test_a_bigquery_load_job_from_the_schema_matches_the_parquet_file(run_cli: RunCli, exported: Path) -> None:
    job: dict[str, Any] = {
        "configuration": {
            "load": {
                "sourceFormat": "PARQUET",
                "parquetOptions": {"enableListInference": True},
                "schema": {"fields": json.loads(_schema(run_cli, "--format", "bigquery"))},
            }
        }
    }
    declared = _without_descriptions(job["configuration"]["load"]["schema"]["fields"])
    assert declared == _parquet_fields(pq.read_schema(exported))
    # The physical types behind them, as the Parquet footer states them.
    parquet = pq.ParquetFile(exported).schema
    for index in range(len(parquet)):
        column = parquet.column(index)
        if column.max_repetition_level == 0 and "." not in column.path:
            assert (column.physical_type, str(column.logical_type)) in _BIGQUERY_FROM_PARQUET, column.path
