"""`articles export`: every format read back by an independent reader, golden files, atomicity."""

from __future__ import annotations

import base64
import contextlib
import csv
import gc
import io
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import REPO, SCHEMA_FILE, SEEDS, RunCli, RunProcess, many_articles
from hypothesis import given, settings
from hypothesis import strategies as st
from independent import expected_cell

from converters.check import CheckOptions, check_paths
from converters.layout import article_layout
from converters.limits import Limits
from converters.parallel import CHUNK_SIZE, SERIAL_THRESHOLD
from converters.reader import parse_article
from converters.schema import load_schema, schema_identity
from converters.writers import WRITERS, export_destination
from converters.writers.base import Encoder, ExportOptions, SchemaInfo
from converters.writers.csv import csv_line

GOLDEN = REPO / "tests" / "golden"
CORPUS = GOLDEN / "corpus"
EXPECTED = GOLDEN / "expected"
CORPUS_FILES = sorted(CORPUS.iterdir())
# Set UPDATE_GOLDEN=1 to rewrite the expected files; then review the diff by eye.
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _records() -> list[dict[str, Any]]:
    """What the reader (itself checked against PyYAML) makes of the corpus, in path order."""
    return [parse_article(path.read_bytes(), Limits()).record for path in CORPUS_FILES]


def _golden(produced: Path, name: str) -> None:
    expected = EXPECTED / name
    if UPDATE:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_bytes(produced.read_bytes())
    assert produced.read_bytes() == expected.read_bytes(), f"{name} differs from its golden file"


def _export(run_cli: RunCli, *args: str) -> Any:
    result = run_cli("export", str(CORPUS), *args)
    assert result.exit_code == 0, result.stderr
    return result


# -- JSON and JSON Lines ------------------------------------------------------------


def test_json_round_trips_exactly(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "articles.json"
    _export(run_cli, "-o", str(out))
    loaded = json.loads(out.read_text(encoding="utf-8"))
    assert loaded == _records()
    schema_order = list(json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["properties"])
    for record in loaded:
        assert list(record) == [key for key in schema_order if key in record]
    _golden(out, "articles.json")


def test_json_indent(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "articles.json"
    _export(run_cli, "-o", str(out), "--indent", "2")
    text = out.read_text(encoding="utf-8")
    assert json.loads(text) == _records()
    assert '\n    "category": "news",\n' in text
    _golden(out, "articles.indent2.json")


def test_json_lines_round_trip_and_keep_text_as_written(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "articles.jsonl"
    _export(run_cli, "-o", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == _records()
    offsets = next(json.loads(line) for line in lines if "offsets" in line)
    assert offsets["publishedDateTime"] == "2023-08-04T11:59:00.123456+05:00"  # the author's text
    assert offsets["ampWebUrl"] is None  # null stays null
    assert "originalUrl" not in offsets  # absent stays absent
    assert "📰 עברית" in out.read_text(encoding="utf-8")  # UTF-8, not \\u escapes
    _golden(out, "articles.jsonl")


@pytest.mark.parametrize("name", ["big.jsonl", "big.json"])
def test_integers_past_64_bits_are_written_exactly(run_cli: RunCli, tmp_path: Path, name: str) -> None:
    # orjson, which writes the compact JSON, stops at 64 bits; such a record is written by json instead.
    heat = 2**70 + 1
    source = tmp_path / "big.md"
    source.write_text(
        (CORPUS / "edge-body-and-text.md").read_text(encoding="utf-8").replace("heat: -1", f"heat: {heat}"),
        encoding="utf-8",
    )
    out = tmp_path / name
    result = run_cli("export", str(source), str(CORPUS / "edge-minimal.md"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    records = json.loads(text) if name.endswith(".json") else [json.loads(line) for line in text.splitlines()]
    assert [record.get("heat") for record in records] == [heat, None]
    assert f'"heat":{heat},' in text  # compact, as orjson writes the others


def test_stdout(run_cli: RunCli) -> None:
    result = _export(run_cli, "-o", "-", "--to", "jsonl")
    assert [json.loads(line) for line in result.stdout.splitlines()] == _records()
    assert "wrote 5 records to standard output" in result.stderr


# -- CSV ------------------------------------------------------------------------------


def test_csv_round_trips_through_the_csv_module(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "articles.csv"
    _export(run_cli, "-o", str(out))
    with out.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    # The JSON export's records: the same values, nested keys in schema order (checked above).
    _export(run_cli, "-o", str(tmp_path / "articles.json"))
    records = json.loads((tmp_path / "articles.json").read_text(encoding="utf-8"))
    assert records == _records()
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        for column, cell in row.items():
            parent, _, child = column.partition("__")
            value = record.get(parent, {}).get(child) if child else record.get(parent)
            if isinstance(value, (list, dict)):
                assert json.loads(cell) == value, column
            assert cell == expected_cell(value), column
    assert list(rows[0])[:4] == ["category", "title", "excerpt", "publishedDateTime"]
    assert "provider__name" in rows[0]
    assert out.read_bytes().count(b"\r\n") >= len(records) + 1  # RFC 4180 line ends
    _golden(out, "articles.csv")


# Text rich in what CSV must quote: commas, double quotes, both line breaks, and non-ASCII.
_CSV_TEXT = st.text(st.sampled_from([*',"\r\n ab', "é", "北", "\x00", "\t", "'"]) | st.characters(), max_size=12)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(fields=st.lists(_CSV_TEXT | st.none(), min_size=1, max_size=5))
def test_a_csv_line_is_what_the_csv_module_writes_and_reads_back(fields: list[str | None]) -> None:
    """csv_line() stands in for csv.writer, for speed: the same bytes for every field that is not empty,
    a null as an empty field and an empty string as `""`; csv.reader returns the fields."""
    line = csv_line(fields)
    if len(fields) > 1:
        expected = ",".join(_csv_writer_field(field) for field in fields) + "\r\n"
        assert line == expected.encode("utf-8")
    assert next(csv.reader(io.StringIO(line.decode("utf-8"), newline=""))) == [field or "" for field in fields]


def _csv_writer_field(field: str | None) -> str:
    if field is None:
        return ""
    if field == "":
        return '""'
    written = io.StringIO()
    csv.writer(written, lineterminator="\r\n").writerow([field, "x"])  # two fields: no special case for one
    return written.getvalue().removesuffix(",x\r\n")


def test_escape_formulas(run_cli: RunCli, tmp_path: Path) -> None:
    plain, escaped = tmp_path / "plain.csv", tmp_path / "escaped.csv"
    _export(run_cli, "-o", str(plain))
    _export(run_cli, "-o", str(escaped), "--escape-formulas")
    with escaped.open(encoding="utf-8", newline="") as stream:
        row = next(r for r in csv.DictReader(stream) if "HYPERLINK" in r["title"])
    assert row["title"].startswith("'=HYPERLINK")
    assert row["heat"] == "-1"  # numbers are not text: left alone
    with plain.open(encoding="utf-8", newline="") as stream:
        assert any(r["title"].startswith("=HYPERLINK") for r in csv.DictReader(stream))


def _read_tables(directory: Path) -> dict[str, list[dict[str, str]]]:
    tables = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as stream:
            tables[path.stem] = list(csv.DictReader(stream))
    return tables


def test_normalized_tables_join_back_to_the_records(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    _export(run_cli, "--normalize", str(out))
    tables = _read_tables(out)
    assert set(tables) == {
        "articles", "articles__topics", "articles__images", "articles__related", "articles__related__images",
    }  # fmt: skip

    def children(table: str, parent_id: str) -> list[dict[str, str]]:
        rows = [r for r in tables[table] if r["_parent_id"] == parent_id]
        assert [int(r["_list_idx"]) for r in rows] == list(range(len(rows)))
        return rows

    for article, record in zip(tables["articles"], _records(), strict=True):
        assert article["webUrl"] == record["webUrl"]
        assert article["provider__domain"] == record["provider"]["domain"]
        topics = [r["value"] for r in children("articles__topics", article["_id"])]
        assert topics == record.get("topics", [])
        images = [r["url"] for r in children("articles__images", article["_id"])]
        assert images == [i["url"] for i in record.get("images", [])]
        for related_row, related in zip(
            children("articles__related", article["_id"]), record.get("related", []), strict=True
        ):
            assert related_row["title"] == related["title"]
            nested = [r["url"] for r in children("articles__related__images", related_row["_id"])]
            assert nested == [i["url"] for i in related.get("images", [])]
    for name in tables:
        _golden(out / f"{name}.csv", f"normalized/{name}.csv")


def test_normalized_ids_are_stable(run_cli: RunCli, tmp_path: Path) -> None:
    _export(run_cli, "--normalize", str(tmp_path / "a"))
    _export(run_cli, "--normalize", str(tmp_path / "b"))
    assert _read_tables(tmp_path / "a") == _read_tables(tmp_path / "b")


# -- choosing the format and the output ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "first_byte"), [("x.json", b"["), ("x.jsonl", b"{"), ("x.ndjson", b"{"), ("x.csv", b"c")]
)
def test_format_from_the_extension(run_cli: RunCli, tmp_path: Path, name: str, first_byte: bytes) -> None:
    _export(run_cli, "-o", str(tmp_path / name))
    assert (tmp_path / name).read_bytes()[:1] == first_byte


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "out.txt"], "cannot tell the format"),
        ([], "missing -o"),
        (["-o", "/no/such/dir/out.json"], "does not exist"),
        (["-o", "x.csv", "--normalize", "d"], "not both"),
        (["--normalize", "d", "--to", "json"], "cannot be used with --to json"),
        (["--partition-by", "category", "--to", "csv", "-o", "d"], "cannot be used with --to csv"),
        (["--to", "xml", "-o", "x"], "not one of"),
        (["-o", "x.json", "--on-invalid", "skip"], "--rejects"),
    ],
)
def test_usage_errors_exit_2(run_cli: RunCli, args: list[str], message: str) -> None:
    result = run_cli("export", str(CORPUS), *args)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("output", "to", "normalize", "partition_by", "expected"),
    [
        ("out.ndjson", None, None, None, ("out.ndjson", "jsonl")),
        ("out.txt", "csv", None, None, ("out.txt", "csv")),
        (None, None, "tables", None, ("tables", "csv")),
        ("dataset", None, None, "category", ("dataset", "parquet")),
    ],
)
def test_export_destination_without_the_cli(
    output: str | None, to: str | None, normalize: str | None, partition_by: str | None, expected: tuple[str, str]
) -> None:
    assert export_destination(output, to, normalize=normalize, partition_by=partition_by) == expected


# -- invalid input ----------------------------------------------------------------------


@pytest.fixture
def half_bad(tmp_path: Path) -> Path:
    corpus = tmp_path / "in"
    corpus.mkdir()
    for seed in SEEDS:
        (corpus / seed.name).write_bytes(seed.read_bytes())
    (corpus / "bad.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    (corpus / "latin1.md").write_bytes(b"---\ntitle: caf\xe9\n---\n")
    return corpus


def _previous_export(run_cli: RunCli, out: Path) -> bytes:
    """An earlier export of the first seed to `out`, which a later export may replace."""
    assert run_cli("export", str(SEEDS[0]), "-o", str(out)).exit_code == 0
    return out.read_bytes()


def test_fail_leaves_an_existing_output_byte_for_byte(run_cli: RunCli, half_bad: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    previous = _previous_export(run_cli, out)
    result = run_cli("export", str(half_bad), "-o", str(out))
    assert result.exit_code == 1
    assert out.read_bytes() == previous
    assert f"{half_bad / 'bad.md'}:" in result.stderr  # errors reported as validate does
    assert "nothing written" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out.jsonl"]  # no temporary file left


def test_summaries_count_in_words_and_say_what_became_of_the_output(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "one.jsonl"
    written = run_cli("export", str(SEEDS[0]), "-o", str(out))
    assert f"wrote 1 record to {out} (" in written.stderr
    assert "; 1 file in " in written.stderr
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: [\n---\n", encoding="utf-8")
    missing = tmp_path / "never.jsonl"
    refused = run_cli("export", str(bad), "-o", str(missing))
    assert f"nothing written: 1 of 1 file is invalid (1 error); {missing} was not created" in refused.stderr
    assert not missing.exists()
    kept = run_cli("export", str(bad), "-o", str(out))
    assert f"; {out} is unchanged" in kept.stderr


def test_skip_writes_the_valid_and_keeps_every_rejected_document(
    run_cli: RunCli, half_bad: Path, tmp_path: Path
) -> None:
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    result = run_cli("export", str(half_bad), "-o", str(out), "--on-invalid", "skip", "--rejects", str(rejects))
    assert result.exit_code == 0, result.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(SEEDS)
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [line["file"] for line in lines] == [str(half_bad / "bad.md"), str(half_bad / "latin1.md")]
    assert lines[0]["raw"] == (half_bad / "bad.md").read_text(encoding="utf-8")
    assert lines[0]["errors"][0]["keyword"] == "yaml"
    assert "raw" not in lines[1]  # raw_base64 instead, as the README says
    assert base64.b64decode(lines[1]["raw_base64"]) == (half_bad / "latin1.md").read_bytes()
    assert "2 rejected" in result.stderr


def _url_of(record: dict[str, Any]) -> str:
    return str(record["webUrl"])


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_encoder_sees_each_valid_record_once_in_order(half_bad: Path, jobs: int) -> None:
    """Encoder.each runs on every valid record as it is found, Encoder.chunk on what each made of a
    chunk; invalid files never reach them, and no file's record travels back beside its encoding."""
    many_articles(half_bad / "many", SERIAL_THRESHOLD + CHUNK_SIZE)  # enough for the workers to start
    options = CheckOptions(jobs=jobs, keep_records=True, encode=Encoder(each=_url_of, chunk=tuple))
    with contextlib.closing(check_paths([str(half_bad)], options)) as run:
        chunks = list(run.chunks())
    results = [result for chunk in chunks for result in chunk.results]
    assert all(isinstance(chunk.encoded, tuple) for chunk in chunks)
    assert [url for chunk in chunks for url in chunk.encoded] == [r.url for r in results if r.valid]
    assert [len(chunk.encoded) for chunk in chunks] == [len(chunk.rows) for chunk in chunks]
    assert sum(not r.valid for r in results) == 2
    assert all(result.record is None for result in results)


@pytest.mark.parametrize(
    ("format_name", "options"),
    [
        ("json", ExportOptions(indent=2)),
        ("jsonl", ExportOptions()),
        ("csv", ExportOptions(escape_formulas=True)),
        ("csv", ExportOptions(normalize=True)),
        ("parquet", ExportOptions()),
        ("parquet", ExportOptions(partition_by="category")),
        ("rss", ExportOptions()),
    ],
)
def test_every_encoder_pickles_for_spawned_workers(format_name: str, options: ExportOptions) -> None:
    """Where workers are spawned (macOS, Windows), the encoder travels to them pickled: it must
    arrive whole, and encode as it did before."""
    schema = load_schema()
    info = SchemaInfo(article_layout(schema), *schema_identity(schema))
    encoder = WRITERS[format_name].load().variant(options).encoder(info, options)
    records = _records()
    assert pickle.loads(pickle.dumps(encoder))(records) == encoder(records)


def _gc_state(record: dict[str, Any]) -> bool:
    return gc.isenabled()


def _fails(record: dict[str, Any]) -> None:
    raise RuntimeError("an encoder that fails")


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_cyclic_gc_is_paused_while_a_chunk_is_encoded_and_left_as_it_was(
    half_bad: Path, enabled_before: bool
) -> None:
    """Encoding a chunk runs with the cyclic GC off (its records hold no cycles, and it kept walking
    them), and leaves the GC as the caller had it, even when the encoder fails."""
    options = CheckOptions(jobs=1, keep_records=True, encode=Encoder(each=_gc_state))
    failing = CheckOptions(jobs=1, keep_records=True, encode=Encoder(each=_fails))
    was = gc.isenabled()
    try:
        (gc.enable if enabled_before else gc.disable)()
        with contextlib.closing(check_paths([str(half_bad)], options)) as run:
            states = [state for chunk in run.chunks() for state in chunk.encoded]
        assert states == [False, False]  # the two seeds, the only valid files
        assert gc.isenabled() is enabled_before
        with pytest.raises(RuntimeError), contextlib.closing(check_paths([str(half_bad)], failing)) as run:
            list(run.chunks())
        assert gc.isenabled() is enabled_before
    finally:
        (gc.enable if was else gc.disable)()


# -- the schema drives every layout -------------------------------------------------------


def test_a_field_added_to_the_schema_appears_in_every_format(run_cli: RunCli, tmp_path: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    schema["properties"]["wordCount"] = {"title": "Word count", "description": "Words.", "type": "integer"}
    custom = tmp_path / "schema.json"
    custom.write_text(json.dumps(schema), encoding="utf-8")
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a.md").write_text(
        SEEDS[0].read_text(encoding="utf-8").replace("type: article\n", "type: article\nwordCount: 412\n", 1),
        encoding="utf-8",
    )
    for name in ("out.json", "out.jsonl", "out.csv", "out.parquet"):
        result = run_cli("export", str(corpus), "--schema", str(custom), "-o", str(tmp_path / name))
        assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))[0]["wordCount"] == 412
    assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["wordCount"] == 412
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as stream:
        assert next(csv.DictReader(stream))["wordCount"] == "412"
    assert pq.read_table(tmp_path / "out.parquet").column("wordCount").to_pylist() == [412]
    _normalized = tmp_path / "tables"
    assert run_cli("export", str(corpus), "--schema", str(custom), "--normalize", str(_normalized)).exit_code == 0
    with (_normalized / "articles.csv").open(encoding="utf-8", newline="") as stream:
        assert next(csv.DictReader(stream))["wordCount"] == "412"


# -- determinism and interruption ------------------------------------------------------------


# Every output form: a file per format, and the two that write a directory.
_OUTPUT_FORMS = [
    pytest.param(("-o", "{out}.jsonl"), id="jsonl"),
    pytest.param(("-o", "{out}.json"), id="json"),
    pytest.param(("-o", "{out}.csv"), id="csv"),
    pytest.param(("-o", "{out}.parquet"), id="parquet"),
    pytest.param(("--normalize", "{out}"), id="normalize"),
    pytest.param(("-o", "{out}", "--partition-by", "category"), id="partition-by"),
]


def _output_args(form: tuple[str, ...], out: Path) -> list[str]:
    return [arg.format(out=out) for arg in form]


def _written(out: Path) -> Path:
    """The file or folder an export wrote for `_output_args(form, out)`."""
    (written,) = [path for path in out.parent.iterdir() if path.name.startswith(out.name)]
    return written


def _output_bytes(out: Path) -> dict[str, bytes]:
    """Every file the export wrote, by its path under the output's folder."""
    written = _written(out)
    files = sorted(p for p in written.rglob("*") if p.is_file()) if written.is_dir() else [written]
    return {str(path.relative_to(out.parent)): path.read_bytes() for path in files}


@pytest.mark.parametrize("form", _OUTPUT_FORMS)
def test_output_is_byte_identical_across_runs_and_job_counts(
    run_process: RunProcess, tmp_path: Path, form: tuple[str, ...]
) -> None:
    many_articles(tmp_path / "in", 600)
    outputs: list[dict[str, bytes]] = []
    for run, jobs in enumerate(("1", "2", "2")):
        (tmp_path / str(run)).mkdir()
        out = tmp_path / str(run) / "out"
        result = run_process("export", str(tmp_path / "in"), *_output_args(form, out), "--jobs", jobs)
        assert result.returncode == 0, result.stderr
        outputs.append(_output_bytes(out))
    assert outputs[0]
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.parametrize("form", _OUTPUT_FORMS)
def test_duplicates_found_after_the_workers_are_left_out(
    run_process: RunProcess, tmp_path: Path, form: tuple[str, ...]
) -> None:
    # Workers encode each chunk of valid records before the main process finds a
    # webUrl seen in an earlier file; the writer must then leave that one record out.
    many_articles(tmp_path / "in", 600)
    files = sorted((tmp_path / "in").rglob("*.md"))
    # A copy of an earlier file: in its chunk, in the chunk before, or far back.
    copies = {3: 1, CHUNK_SIZE: CHUNK_SIZE - 1, 300: 2, 450: 7, 599: 598}
    for copy, original in copies.items():
        files[copy].write_bytes(files[original].read_bytes())
    expected = [_web_url(file) for n, file in enumerate(files) if n not in copies]
    outputs = []
    for jobs in ("1", "2"):
        (tmp_path / jobs).mkdir()
        out, rejects = tmp_path / jobs / "out", tmp_path / f"{jobs}-rejects.jsonl"
        result = run_process(
            "export", str(tmp_path / "in"), *_output_args(form, out), "--on-invalid", "skip", "--rejects", str(rejects),
            "--jobs", jobs,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert _written_urls(out) == expected
        rejected = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
        assert [line["file"] for line in rejected] == [str(files[n]) for n in copies]
        assert [line["raw"] for line in rejected] == [files[n].read_text(encoding="utf-8") for n in copies]
        outputs.append(_output_bytes(out))
    assert outputs[0] == outputs[1]


def _web_url(file: Path) -> str:
    return str(parse_article(file.read_bytes(), Limits()).record["webUrl"])


def _written_urls(out: Path) -> list[str]:
    """The webUrls an export wrote, in its order; a partitioned dataset's are sorted by partition
    (the many_articles corpus has one category, so that order is the input's too)."""
    written = _written(out)
    if written.is_dir() and (written / "articles.csv").exists():
        written = written / "articles.csv"
    if written.is_dir() or written.suffix == ".parquet":
        table = ds.dataset(written, format="parquet", partitioning="hive").to_table(columns=["webUrl"])
        return [str(url) for url in table.column("webUrl").to_pylist()]
    text = written.read_text(encoding="utf-8")
    if written.suffix == ".csv":
        return [row["webUrl"] for row in csv.DictReader(text.splitlines())]
    records = json.loads(text) if written.suffix == ".json" else [json.loads(line) for line in text.splitlines()]
    return [record["webUrl"] for record in records]


def test_an_export_stopped_by_max_errors_writes_nothing(run_cli: RunCli, half_bad: Path, tmp_path: Path) -> None:
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    previous = _previous_export(run_cli, out)
    result = run_cli(
        "export", str(half_bad), "-o", str(out), "--on-invalid", "skip", "--rejects", str(rejects), "--max-errors", "1"
    )
    assert result.exit_code == 1
    assert "nothing written: stopped at the error limit after 1 error in 3 files" in result.stderr
    assert out.read_bytes() == previous
    assert not rejects.exists()


@pytest.mark.parametrize("schema", [{"type": "object"}, {}], ids=["object", "empty"])
def test_a_schema_without_properties_exports_json_and_refuses_the_formats_that_need_columns(
    run_cli: RunCli, tmp_path: Path, schema: dict[str, Any]
) -> None:
    schema_file = tmp_path / "untyped.json"
    schema_file.write_text(json.dumps(schema), encoding="utf-8")
    assert run_cli("validate", str(CORPUS), "--schema", str(schema_file)).exit_code == 0
    _export(run_cli, "--schema", str(schema_file), "-o", str(tmp_path / "out.jsonl"))
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert exported == _records()
    _export(run_cli, "--schema", str(schema_file), "-o", str(tmp_path / "out.json"))
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == _records()
    for name in ("out.csv", "out.parquet", "out.rss"):
        result = run_cli("export", str(CORPUS), "--schema", str(schema_file), "-o", str(tmp_path / name))
        assert result.exit_code == 2
        assert "this schema has none: add properties, or export to json or jsonl" in result.stderr
        assert not (tmp_path / name).exists()


def test_rejects_without_skip_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("export", str(SEEDS[0]), "-o", str(tmp_path / "o.jsonl"), "--rejects", str(tmp_path / "r.jsonl"))
    assert result.exit_code == 2
    assert "--rejects FILE goes with --on-invalid skip" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
