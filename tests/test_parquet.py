"""Parquet read back by pyarrow and DuckDB: the types the schema promises, every value, one schema."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import CASES, SCHEMA_FILE, RunCli, exported_golden_corpus
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import ARTICLES
from test_export import CORPUS, _records

from converters.arrow_schema import cast_timestamps, row_converter
from converters.layout import article_layout
from converters.schema import load_schema
from converters.timestamps import OutOfRange, parse_timestamp
from converters.validate import format_checker
from converters.writers import SchemaInfo
from converters.writers.parquet import ArrowBatches


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return exported_golden_corpus(tmp_path_factory.mktemp("parquet") / "articles.parquet")


def _instant(text: str) -> datetime:
    """Independent of the writer: the stdlib's reading of RFC 3339, moved to UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_types_are_derived_from_the_schema(exported: Path) -> None:
    schema = pq.read_schema(exported)
    assert schema.field("publishedDateTime").type == pa.timestamp("us", tz="UTC")
    assert schema.field("quality").type == pa.int64()
    assert schema.field("published").type == pa.bool_()
    assert schema.field("provider").type == pa.struct([("name", pa.string()), ("domain", pa.string())])
    assert pa.types.is_list(schema.field("topics").type)
    assert schema.field("topics").type.value_type == pa.string()
    related = schema.field("related").type.value_type
    assert related.field("publishedDateTime").type == pa.timestamp("us", tz="UTC")
    assert pa.types.is_list(related.field("images").type)
    assert all(field.nullable for field in schema)
    properties = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["properties"]
    assert schema.names == list(properties)


def test_timestamps_are_utc_microseconds_never_int96(exported: Path) -> None:
    column = pq.ParquetFile(exported).metadata.row_group(0).column(3)
    assert column.path_in_schema == "publishedDateTime"
    assert column.physical_type == "INT64"
    assert "isAdjustedToUTC=true" in str(column.statistics.logical_type)
    assert "microseconds" in str(column.statistics.logical_type)


def test_every_value_round_trips(exported: Path) -> None:
    rows = pq.read_table(exported).to_pylist()
    records = _records()
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        assert row["publishedDateTime"] == _instant(record["publishedDateTime"])
        for key in ("title", "excerpt", "webUrl", "quality", "heat", "published", "topics", "secured", "body"):
            assert row[key] == record.get(key), key
        assert row["provider"] == record["provider"]
        assert [i["url"] for i in row["images"] or []] == [i["url"] for i in record.get("images", [])]
        for got, want in zip(row["related"] or [], record.get("related", []), strict=True):
            assert got["title"] == want["title"]
            if "publishedDateTime" in want:
                assert got["publishedDateTime"] == _instant(want["publishedDateTime"])


def test_an_offset_becomes_the_same_instant_in_utc(exported: Path) -> None:
    rows = pq.read_table(exported).to_pylist()
    offsets = next(r for r in rows if r["title"] == "Offsets and nulls")
    assert offsets["publishedDateTime"] == datetime(2023, 8, 4, 6, 59, 0, 123456, tzinfo=UTC)
    assert offsets["related"][0]["publishedDateTime"] == datetime(2023, 8, 1, 13, 4, tzinfo=UTC)


def test_the_schema_id_and_version_are_in_the_file(exported: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    metadata = pq.ParquetFile(exported).metadata.metadata
    assert metadata[b"articles.schema.id"] == schema["$id"].encode()
    assert metadata[b"articles.schema.version"] == schema["version"].encode()


def test_duckdb_reads_utc_timestamps_structs_and_lists(exported: Path) -> None:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet('{exported}')").fetchall()
    types = {row[0]: row[1] for row in described}
    assert types["publishedDateTime"] == "TIMESTAMP WITH TIME ZONE"
    assert types["provider"] == 'STRUCT("name" VARCHAR, "domain" VARCHAR)'
    assert types["topics"] == "VARCHAR[]"
    rows = connection.execute(
        f"""SELECT title, provider.name, topics[1], len(images), related[1].provider.domain,
                   strftime(publishedDateTime, '%Y-%m-%dT%H:%M:%S.%f')
            FROM read_parquet('{exported}') ORDER BY publishedDateTime"""
    ).fetchall()
    records = sorted(_records(), key=lambda r: _instant(r["publishedDateTime"]))
    assert [r[0] for r in rows] == [r["title"] for r in records]
    assert [r[1] for r in rows] == [r["provider"]["name"] for r in records]
    assert [r[2] for r in rows] == [(r.get("topics") or [None])[0] for r in records]
    assert rows[0][4] == "propakistani.pk"
    assert rows[-1][5] == "2023-08-05T09:30:15.250000"


def test_the_schema_is_the_same_whatever_fields_the_input_has(run_cli: RunCli, tmp_path: Path, exported: Path) -> None:
    sparse = tmp_path / "sparse.parquet"
    result = run_cli("export", str(CORPUS / "edge-minimal.md"), "-o", str(sparse))
    assert result.exit_code == 0
    assert "related" not in _records()[3]  # the minimal article has no related, images or topics
    assert pq.read_schema(sparse).equals(pq.read_schema(exported), check_metadata=True)
    assert pq.read_table(sparse).column("related").to_pylist() == [None]


@pytest.mark.parametrize("codec", ["snappy", "gzip", "none"])
def test_compression(run_cli: RunCli, tmp_path: Path, codec: str) -> None:
    out = tmp_path / "out.parquet"
    assert run_cli("export", str(CORPUS), "-o", str(out), "--compression", codec).exit_code == 0
    expected = "UNCOMPRESSED" if codec == "none" else codec.upper()
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == expected
    assert pq.read_table(out).num_rows == len(_records())


def test_row_group_size(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    assert run_cli("export", str(CORPUS), "-o", str(out), "--row-group-size", "2").exit_code == 0
    metadata = pq.ParquetFile(out).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [2, 2, 1]
    assert pq.read_table(out).column("title").to_pylist() == [r["title"] for r in _records()]


def test_output_is_deterministic(run_cli: RunCli, tmp_path: Path) -> None:
    for name in ("a.parquet", "b.parquet"):
        assert run_cli("export", str(CORPUS), "-o", str(tmp_path / name)).exit_code == 0
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_to_a_pipe(run_cli: RunCli) -> None:
    result = run_cli("export", str(CORPUS), "--to", "parquet", "-o", "-")
    assert result.exit_code == 0
    assert pa.BufferReader(result.stdout_bytes).size() > 0
    assert pq.read_table(pa.BufferReader(result.stdout_bytes)).num_rows == len(_records())


# -- partitioned datasets ------------------------------------------------------------


def test_partition_by_published_date(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    result = run_cli("export", str(CORPUS), "-o", str(out), "--partition-by", "published_date")
    assert result.exit_code == 0, result.stderr
    expected_dates = sorted({_instant(r["publishedDateTime"]).date().isoformat() for r in _records()})
    assert sorted(p.name for p in out.iterdir()) == ["_articles_manifest.json"] + [
        f"published_date={d}" for d in expected_dates
    ]
    assert all((out / f"published_date={d}" / "part-0.parquet").is_file() for d in expected_dates)

    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(_records())
    connection = duckdb.connect()
    rows = connection.execute(
        f"SELECT published_date, typeof(published_date), typeof(publishedDateTime), count(*) "
        f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert [str(r[0]) for r in rows] == expected_dates
    assert {r[1] for r in rows} == {"DATE"}
    assert {r[2] for r in rows} == {"TIMESTAMP WITH TIME ZONE"}
    assert sum(r[3] for r in rows) == len(_records())


def test_partition_by_a_field(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    assert run_cli("export", str(CORPUS), "-o", str(out), "--partition-by", "category").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["_articles_manifest.json", "category=news", "category=world"]


def _corpus_of_partitions(folder: Path) -> Path:
    """The golden corpus, plus an article whose category needs URI-encoding and one with no quality."""
    shutil.copytree(CORPUS, folder)
    seed = next(p for p in sorted(folder.iterdir()) if "quality:" in p.read_text(encoding="utf-8"))
    text = seed.read_text(encoding="utf-8")
    odd = text.replace('webUrl: "https://', 'webUrl: "https://odd.', 1)
    odd = re.sub(r"(?m)^category: .*$", 'category: "Politics & world/50% = ü"', odd)
    (folder / "odd.md").write_text(odd, encoding="utf-8")
    none = re.sub(r"(?m)^quality: .*\n", "", text.replace('webUrl: "https://', 'webUrl: "https://none.', 1))
    (folder / "no-quality.md").write_text(none, encoding="utf-8")
    return folder


def _by_url(records: list[dict[str, Any]], field: str) -> dict[str, Any]:
    return {record["webUrl"]: record.get(field) for record in records}


@pytest.mark.parametrize(("field", "arrow_type"), [("category", pa.string()), ("quality", pa.int64())])
def test_the_partition_column_is_in_the_path_only_and_every_reader_gets_it_back_typed(
    run_cli: RunCli, tmp_path: Path, field: str, arrow_type: pa.DataType
) -> None:
    corpus = _corpus_of_partitions(tmp_path / "corpus")
    source = [json.loads(line) for line in _export_lines(run_cli, corpus, tmp_path / "source.jsonl")]
    assert None in _by_url(source, "quality").values()  # a row for __HIVE_DEFAULT_PARTITION__
    out = tmp_path / "dataset"
    assert run_cli("export", str(corpus), "-o", str(out), "--partition-by", field).exit_code == 0
    parts = sorted(out.rglob("*.parquet"))
    assert parts
    assert all(field not in pq.read_schema(part).names for part in parts)

    partitioning = ds.partitioning(pa.schema([(field, arrow_type)]), flavor="hive")
    table = ds.dataset(out, format="parquet", partitioning=partitioning).to_table()
    assert table.schema.field(field).type == arrow_type
    assert _by_url(table.to_pylist(), field) == _by_url(source, field)

    duckdb_type = {"category": "VARCHAR", "quality": "BIGINT"}[field]
    rows = (
        duckdb.connect()
        .execute(
            f"""SELECT "webUrl", "{field}", typeof("{field}") FROM read_parquet('{out}/**/*.parquet',
            hive_partitioning = true, hive_types = {{'{field}': {duckdb_type}}})"""
        )
        .fetchall()
    )
    assert {row[2] for row in rows} == {duckdb_type}
    assert {url: value for url, value, _ in rows} == _by_url(source, field)

    # Parquet keeps UTC timestamps and no nulls: compare with the records read back from one file.
    _export_lines(run_cli, corpus, tmp_path / "one.parquet")
    from_file = _export_lines(run_cli, tmp_path / "one.parquet", tmp_path / "from-file.jsonl")
    from_dataset = _export_lines(run_cli, out, tmp_path / "from-dataset.jsonl", "--include", "*.parquet")
    assert sorted(from_dataset) == sorted(from_file)


def _export_lines(run_cli: RunCli, source: Path, out: Path, *options: str) -> list[str]:
    result = run_cli("export", str(source), "-o", str(out), *options)
    assert result.exit_code == 0, result.stderr
    return out.read_text(encoding="utf-8").splitlines() if out.suffix == ".jsonl" else []


def test_a_partition_folder_that_does_not_fit_its_field_is_an_error_for_its_files(
    run_cli: RunCli, tmp_path: Path
) -> None:
    out = tmp_path / "dataset"
    assert run_cli("export", str(CORPUS), "-o", str(out), "--partition-by", "quality").exit_code == 0
    folder = next(out.glob("quality=*"))
    folder.rename(out / "quality=high")
    result = run_cli("validate", str(out), "--include", "*.parquet")
    assert result.exit_code == 1
    assert "folder 'quality=high' is not a 'quality' value of type integer" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partition-by", "provider"], "cannot partition by 'provider'"),
        (["--compression", "lzma"], "is not one of: zstd"),
    ],
)
def test_bad_parquet_options_are_usage_errors(run_cli: RunCli, tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("export", str(CORPUS), "-o", str(tmp_path / "x.parquet"), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "x.parquet").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary left behind


# -- timestamp parsing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-08-04T06:59:00Z", datetime(2023, 8, 4, 6, 59, tzinfo=UTC)),
        ("2023-08-04t06:59:00z", datetime(2023, 8, 4, 6, 59, tzinfo=UTC)),
        ("2023-08-04T00:30:00+05:30", datetime(2023, 8, 3, 19, 0, tzinfo=UTC)),
        ("2023-08-04T06:59:00.123456789Z", datetime(2023, 8, 4, 6, 59, 0, 123456, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: Any) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("9999-12-31T23:00:00-05:00", "after the year 9999"), ("0001-01-01T00:30:00+01:00", "before the year 1")],
)
def test_an_instant_outside_the_years_1_to_9999_is_out_of_range(text: str, reason: str) -> None:
    with pytest.raises(OutOfRange, match=reason):
        parse_timestamp(text)


@pytest.mark.parametrize("fmt", ["parquet", "rss", "jsonl"])
def test_a_date_time_past_9999_in_utc_is_invalid_data_not_a_crash(run_cli: RunCli, tmp_path: Path, fmt: str) -> None:
    """RFC 3339 allows 9999-12-31T23:00:00-05:00; no Python datetime or warehouse TIMESTAMP holds it."""
    case = CASES / "invalid" / "date-past-9999-in-utc.md"
    out = tmp_path / f"out.{fmt}"
    result = run_cli("export", str(case), "-o", str(out))
    assert result.exit_code == 1
    assert "in UTC it falls after the year 9999" in result.stderr
    assert "in UTC it falls before the year 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


_two_digits = st.integers(0, 59).map(lambda n: f"{n:02d}")
_rfc3339 = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{}:{}{}{}".format,
    st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28), st.sampled_from("Tt "),
    st.integers(0, 23), _two_digits, _two_digits,
    st.sampled_from(["", ".5", ".25", ".123", ".123456", ".1234567", ".123456789"]),
    st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-23:59", "+14:00"]),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_rfc3339, max_size=3), min_size=1, max_size=4))
def test_arrow_reads_every_date_time_as_python_does(dates: list[list[str]]) -> None:
    """The Parquet encoder's fast way (Arrow's ISO 8601 parser) against its reference (the stdlib).

    Each inner list is one record: its first date-time at the top, the rest in
    `related`. Where Arrow refuses a form, the encoder must fall back, so its
    batch always equals the one built from datetimes made in Python.
    """
    checker = format_checker()
    records = [
        {"publishedDateTime": texts[0] if texts else None, "related": [{"publishedDateTime": t} for t in texts[1:]]}
        for texts in dates
    ]
    assume(all(checker.conforms(t, "date-time") for texts in dates for t in texts))
    layout = article_layout(load_schema())
    encoder = ArrowBatches(SchemaInfo(layout, "", ""))
    reference = pa.RecordBatch.from_pylist([row_converter(layout)(r) for r in records], schema=encoder.arrow)
    assert encoder.batch(records).equals(reference)
    try:
        by_arrow = cast_timestamps(pa.RecordBatch.from_pylist(records, schema=encoder.text_arrow), encoder.arrow)
    except pa.ArrowInvalid:
        return  # a form Arrow refuses: the encoder fell back, as checked above
    assert by_arrow.equals(reference)


def _odd(record: dict[str, Any], kind: int) -> dict[str, Any]:
    """The record with a value Arrow's JSON reader and its conversion of Python values may take apart."""
    odd: dict[str, Any] = json.loads(json.dumps(record))
    if kind == 1:
        odd["quality"] = 5.0  # a float with no fraction: an integer to JSON Schema
    elif kind == 2:
        odd["unknown"] = {"nested": [1, "a"]}  # a key the schema does not name, at the top
    elif kind == 3:
        odd["provider"]["extra"] = True  # and nested
    elif kind == 4:
        odd["publishedDateTime"] = "2024-01-01t00:00:00z"  # a form Arrow's timestamp parser refuses
    elif kind == 5:
        odd["heat"] = 2**63  # past int64: neither takes it
    return odd


@settings(max_examples=60, deadline=None)
@given(records=st.lists(ARTICLES, min_size=1, max_size=12), odd=st.lists(st.integers(0, 5), max_size=12))
def test_a_batch_from_json_texts_is_the_batch_from_the_records(records: list[dict[str, Any]], odd: list[int]) -> None:
    """Encoder.from_json (the cache's hits) against Encoder.chunk (everything else): the same batch, or
    None and the caller goes the longer way. Ordinary articles never need the longer way."""
    encoder = ArrowBatches(SchemaInfo(article_layout(load_schema()), "id", "v"))
    records = [_odd(record, kind) for record, kind in zip(records, [*odd, *[0] * len(records)], strict=False)]
    texts = [orjson.dumps(record) for record in records]
    from_json = encoder.from_json(texts)
    if not any(odd[: len(records)]):
        assert from_json is not None
    if from_json is None:
        return
    try:
        expected = encoder(records)
    except (pa.ArrowException, OverflowError):
        pytest.fail("the JSON texts made a batch that the records cannot")
    read = pa.ipc.read_record_batch(pa.py_buffer(from_json), encoder.arrow)
    assert read.equals(pa.ipc.read_record_batch(pa.py_buffer(expected), encoder.arrow))
