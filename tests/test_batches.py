"""record_batches: the library's Arrow seam gives exactly the rows and types the Parquet export writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import CASES, GOLDEN_CORPUS, RunCli
from s3_server import Bucket

from converters.batches import article_arrow_schema, record_batches
from converters.check import CheckOptions
from converters.findings import FileResult


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    root = tmp_path / "mixed"
    shutil.copytree(GOLDEN_CORPUS, root / "golden")
    shutil.copytree(CASES / "invalid", root / "invalid", ignore=shutil.ignore_patterns("*.json"))
    return root


def _exported(run_cli: RunCli, source: Path, tmp_path: Path) -> pa.Table:
    out, rejects = tmp_path / "out.parquet", tmp_path / "rejects.jsonl"
    result = run_cli("export", str(source), "-o", str(out), "--on-invalid", "skip", "--rejects", str(rejects))
    assert result.exit_code == 0, result.stderr
    return pq.read_table(out)


def test_the_batches_hold_the_rows_the_parquet_export_writes(run_cli: RunCli, mixed: Path, tmp_path: Path) -> None:
    seen: list[FileResult] = []
    batches = list(record_batches([str(mixed)], CheckOptions(jobs=2), on_result=seen.append))
    table = pa.Table.from_batches(batches, schema=article_arrow_schema())
    exported = _exported(run_cli, mixed, tmp_path)
    assert table.equals(exported.replace_schema_metadata(table.schema.metadata))
    assert table.num_rows == 5
    assert len(seen) == 5 + sum(1 for r in seen if not r.valid)
    assert sum(1 for r in seen if not r.valid) > 40


def test_the_schema_is_the_parquet_files_schema(run_cli: RunCli, mixed: Path, tmp_path: Path) -> None:
    assert article_arrow_schema().equals(_exported(run_cli, mixed, tmp_path).schema, check_metadata=True)


def test_a_bucket_gives_the_same_batches_as_a_folder(bucket: Bucket) -> None:
    bucket.upload_folder(GOLDEN_CORPUS, "corpus/")
    local = pa.Table.from_batches(list(record_batches([str(GOLDEN_CORPUS)])))
    stored = pa.Table.from_batches(list(record_batches([bucket.uri("corpus/")])))
    assert stored.equals(local)
