"""Any-to-any: `articles export` and `validate` read .json, .jsonl and .parquet files back as input.

Outputs are read with json, pyarrow and feedparser; the expected values come
from the front matter run or from tests/independent.py, never from
converters.inputs itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import feedparser
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import GOLDEN_CORPUS, SEEDS, RunCli, exported_golden_corpus, many_articles
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from independent import expected_arrow_row
from strategies import ARTICLES, article_file

from converters.inputs import data_file_indexes, input_format

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _export(run_cli: RunCli, source: Path, out: Path, *options: str) -> Path:
    result = run_cli("export", str(source), "-o", str(out), *options)
    assert result.exit_code == 0, result.stderr
    return out


def _date_times(value: Any) -> list[str]:
    """Every string under a key named like the schema's date-time fields."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "publishedDateTime" and isinstance(v, str)]
        return found + [t for v in value.values() for t in _date_times(v)]
    if isinstance(value, list):
        return [t for item in value for t in _date_times(item)]
    return []


def _without_nulls(value: Any) -> Any:
    """Parquet cannot tell a null from an absent key: the README says a null comes back absent."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _assert_same_apart_from_utc(direct: list[dict[str, Any]], via_parquet: list[dict[str, Any]]) -> None:
    assert len(via_parquet) == len(direct)
    for before, after in zip(direct, via_parquet, strict=True):
        # Same instants, and otherwise the same values and keys...
        assert expected_arrow_row(after) == expected_arrow_row(before)
        assert set(_strip_times(after)) == set(_strip_times(_without_nulls(before)))
        assert _strip_times(after) == _strip_times(_without_nulls(before))
        # ...with every timestamp written in UTC, as RFC 3339 with `Z`.
        for text in _date_times(after):
            assert RFC3339_UTC.fullmatch(text), text


def _strip_times(record: dict[str, Any]) -> dict[str, Any]:
    """The record with each timestamp replaced by a marker, so the rest compares exactly."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "<time>" if k == "publishedDateTime" else strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    stripped: dict[str, Any] = strip(record)
    return stripped


# -- round trips ----------------------------------------------------------------------


def test_front_matter_to_parquet_to_json_lines_equals_front_matter_to_json_lines(
    run_cli: RunCli, tmp_path: Path
) -> None:
    direct = _json_lines(exported_golden_corpus(tmp_path / "direct.jsonl"))
    parquet = exported_golden_corpus(tmp_path / "corpus.parquet")
    via_parquet = _json_lines(_export(run_cli, parquet, tmp_path / "via.jsonl"))
    _assert_same_apart_from_utc(direct, via_parquet)
    # The corpus has offsets and fractions, so the normalisation is visible, not assumed.
    assert any(t.endswith("+05:00") for r in direct for t in _date_times(r))
    assert "2023-08-04T06:59:00.123456Z" in {t for r in via_parquet for t in _date_times(r)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ARTICLES, min_size=1, max_size=6, unique_by=lambda a: str(a["webUrl"])))
def test_generated_corpora_survive_parquet(run_cli: RunCli, tmp_path_factory: Any, articles: list[Any]) -> None:
    root = tmp_path_factory.mktemp("generated")
    corpus = root / "corpus"
    corpus.mkdir()
    for number, article in enumerate(articles):
        (corpus / f"{number:03d}.md").write_bytes(article_file(article))
    direct = _json_lines(_export(run_cli, corpus, root / "direct.jsonl"))
    parquet = _export(run_cli, corpus, root / "corpus.parquet")
    _assert_same_apart_from_utc(direct, _json_lines(_export(run_cli, parquet, root / "via.jsonl")))


def test_json_and_json_lines_read_back_byte_for_byte(run_cli: RunCli, tmp_path: Path) -> None:
    direct = exported_golden_corpus(tmp_path / "direct.jsonl").read_bytes()
    as_json = exported_golden_corpus(tmp_path / "corpus.json")
    as_json_lines = exported_golden_corpus(tmp_path / "corpus.ndjson")
    assert _export(run_cli, as_json, tmp_path / "from-json.jsonl").read_bytes() == direct
    assert _export(run_cli, as_json_lines, tmp_path / "from-jsonl.jsonl").read_bytes() == direct


def test_json_lines_to_parquet_equals_front_matter_to_parquet(run_cli: RunCli, tmp_path: Path) -> None:
    direct = pq.read_table(exported_golden_corpus(tmp_path / "direct.parquet"))
    json_lines = exported_golden_corpus(tmp_path / "corpus.jsonl")
    via = pq.read_table(_export(run_cli, json_lines, tmp_path / "via.parquet"))
    assert via.schema.equals(direct.schema, check_metadata=True)
    assert via.to_pylist() == direct.to_pylist()


def test_parquet_to_rss_equals_front_matter_to_rss(run_cli: RunCli, tmp_path: Path) -> None:
    options = ("--title", "T", "--link", "https://example.org/")
    direct = feedparser.parse(exported_golden_corpus(tmp_path / "direct.rss", *options).read_bytes())
    parquet = exported_golden_corpus(tmp_path / "corpus.parquet")
    via = feedparser.parse(_export(run_cli, parquet, tmp_path / "via.rss", *options).read_bytes())
    assert via.bozo == 0
    assert len(via.entries) == len(direct.entries) == len(list(GOLDEN_CORPUS.iterdir()))
    for before, after in zip(direct.entries, via.entries, strict=True):
        assert (after.title, after.link, after.published_parsed) == (
            before.title,
            before.link,
            before.published_parsed,
        )


def test_a_partitioned_dataset_reads_back_when_its_files_are_named(run_cli: RunCli, tmp_path: Path) -> None:
    dataset = exported_golden_corpus(tmp_path / "dataset", "--to", "parquet", "--partition-by", "published_date")
    result = run_cli("validate", str(dataset), "--include", "*.parquet")
    assert result.exit_code == 0, result.stderr
    assert f"{len(list(GOLDEN_CORPUS.iterdir()))} files checked" in result.stdout + result.stderr


def test_many_records_give_the_same_report_on_one_core_and_two(run_cli: RunCli, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    many_articles(corpus, 600)
    json_lines = _json_lines(_export(run_cli, corpus, tmp_path / "all.jsonl"))
    json_lines[450]["quality"] = "high"
    json_lines[123]["webUrl"] = json_lines[7]["webUrl"]
    source = tmp_path / "broken.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in json_lines), encoding="utf-8")
    reports = [run_cli("validate", str(source), "--jobs", jobs, "--format", "json") for jobs in ("1", "2")]
    assert reports[0].exit_code == reports[1].exit_code == 1
    first, second = (json.loads(r.stdout) for r in reports)
    assert first["errors"] == second["errors"]
    failing = [(e["line"], e["keyword"]) for e in first["errors"]]
    assert failing == [(124, "unique"), (451, "type")]


# -- what a bad data file reports -------------------------------------------------------


def test_bad_json_lines_are_located_and_reading_goes_on(run_cli: RunCli, tmp_path: Path) -> None:
    good = json.dumps(_json_lines(exported_golden_corpus(tmp_path / "g.jsonl"))[0])
    source = tmp_path / "bad.jsonl"
    source.write_bytes(
        b"\n".join(
            [
                good.encode(),
                b'{"a": 1, "a": 2}',
                b"",  # blank lines are skipped, but still counted
                b"[1, 2]",
                b'{"quality": NaN}',
                b'{"title": ',
                b"\xff",
                good.replace('"news"', "5").encode(),
            ]
        )
        + b"\n"
    )
    result = run_cli("validate", str(source), "--format", "json")
    assert result.exit_code == 1
    found = [(e["line"], e["column"], e["keyword"]) for e in json.loads(result.stdout)["errors"]]
    assert (2, 1, "duplicate-key") in found
    assert (4, 1, "not-mapping") in found
    assert (5, 1, "json") in found
    assert (6, 11, "json") in found
    assert (7, 1, "encoding") in found
    assert (8, 1, "type") in found
    assert (8, 1, "unique") in found
    assert not [line for line, _, _ in found if line == 1]


def test_a_json_syntax_error_is_located_and_ends_the_file(run_cli: RunCli, tmp_path: Path) -> None:
    records = _json_lines(exported_golden_corpus(tmp_path / "g.jsonl"))
    text = json.dumps(records[:2], indent=2)
    broken = text[: text.rindex("}")] + "},\n  oops\n]"  # a third element that is not JSON
    source = tmp_path / "broken.json"
    source.write_text(broken, encoding="utf-8")
    result = run_cli("validate", str(source))
    assert result.exit_code == 1
    line = broken.count("\n", 0, broken.index("oops")) + 1
    assert f"{source}:{line}:3: not valid JSON: Expecting value [json]" in result.stdout
    assert "2 valid, 1 invalid" in result.stdout + result.stderr


def test_json_arrays_stream_across_read_chunks(run_cli: RunCli, tmp_path: Path) -> None:
    """Elements cut by the 1 MiB read window are still read whole, at the right line."""
    corpus = tmp_path / "corpus"
    many_articles(corpus, 1200)  # about 3.5 MB of JSON
    source = _export(run_cli, corpus, tmp_path / "all.json", "--indent", "2")
    text = source.read_text(encoding="utf-8")
    last = json.loads(text)[-1]["webUrl"]
    mangled = text.replace(f'"webUrl": "{last}"', '"webUrl": 7')
    source.write_text(mangled, encoding="utf-8")
    result = run_cli("validate", str(source))
    assert result.exit_code == 1
    element_start = mangled.rfind("\n  {", 0, mangled.index('"webUrl": 7')) + 1
    line = mangled.count("\n", 0, element_start) + 1
    assert len(mangled[:element_start].encode()) > 3 << 20  # well past the third read window
    assert f"{source}:{line}:3: /webUrl: expected string" in result.stdout  # the element's `{`
    assert "1,199 valid, 1 invalid" in result.stdout + result.stderr


def test_an_overlong_line_is_refused_alone(run_cli: RunCli, tmp_path: Path) -> None:
    good = _json_lines(exported_golden_corpus(tmp_path / "g.jsonl"))
    source = tmp_path / "long.jsonl"
    huge = dict(good[0], excerpt="x" * 5000)
    source.write_text("\n".join(json.dumps(r) for r in (huge, good[1], good[2])) + "\n", encoding="utf-8")
    result = run_cli("validate", str(source), "--max-file-size", "4K")
    assert result.exit_code == 1
    assert f"{source}:1:1: line is longer than the 4,096-byte limit" in result.stdout
    assert "2 valid, 1 invalid" in result.stdout + result.stderr


def test_rejected_records_keep_their_own_text(run_cli: RunCli, tmp_path: Path) -> None:
    records = _json_lines(exported_golden_corpus(tmp_path / "g.jsonl"))
    records[1]["category"] = 5
    records.append(dict(records[0]))  # the same webUrl twice: rejected after its worker passed it
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    out = _export(run_cli, source, tmp_path / "out.parquet", "--on-invalid", "skip", "--rejects", str(rejects))
    assert pq.read_table(out).num_rows == len(records) - 2
    rejected = _json_lines(rejects)
    assert [r["errors"][0]["line"] for r in rejected] == [2, len(records)]
    assert [json.loads(r["raw"]) for r in rejected] == [records[1], records[-1]]


# -- Parquet files another tool wrote ------------------------------------------------------


def _seed_record(run_cli: RunCli, tmp_path: Path) -> dict[str, Any]:
    return _json_lines(_export(run_cli, SEEDS[0], tmp_path / "seed.jsonl"))[0]


def test_parquet_from_another_tool_is_validated(run_cli: RunCli, tmp_path: Path) -> None:
    seed = _seed_record(run_cli, tmp_path)
    rows = [dict(seed, webUrl=f"https://example.org/{n}") for n in range(3)]
    rows[1]["quality"] = float("nan")
    table = pa.Table.from_pylist(rows)  # pyarrow's own inference: the timestamp stays a string
    naive = table.set_column(
        table.schema.get_field_index("publishedDateTime"),
        "publishedDateTime",
        pa.array([None, None, None], pa.timestamp("us")).fill_null(0),
    )
    source = tmp_path / "foreign.parquet"
    pq.write_table(naive, source)
    result = run_cli("validate", str(source), "--format", "json")
    assert result.exit_code == 1
    errors = {(e["line"], e["keyword"]) for e in json.loads(result.stdout)["errors"]}
    # No time zone: the instant is unknown, so the date-time format fails on every row.
    assert {(1, "format"), (3, "format")} <= errors
    assert (2, "parquet") in errors  # NaN has no JSON value


def test_a_column_with_no_json_value_is_refused_by_name(run_cli: RunCli, tmp_path: Path) -> None:
    source = tmp_path / "binary.parquet"
    pq.write_table(pa.table({"title": pa.array([b"\x00\x01"], pa.binary())}), source)
    result = run_cli("validate", str(source))
    assert result.exit_code == 1
    assert "column 'title' has Arrow type binary, which has no JSON value [parquet]" in result.stdout


def test_a_file_that_is_not_parquet_is_one_error(run_cli: RunCli, tmp_path: Path) -> None:
    source = tmp_path / "not.parquet"
    source.write_text("---\ntitle: x\n---\n", encoding="utf-8")
    result = run_cli("validate", str(source))
    assert result.exit_code == 1
    assert f"{source}:1:1: not a readable Parquet file" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("content", ["[]", "[\n]\n"])
def test_an_empty_data_file_alone_is_a_usage_error(run_cli: RunCli, tmp_path: Path, content: str) -> None:
    source = tmp_path / "empty.json"
    source.write_text(content, encoding="utf-8")
    result = run_cli("export", str(source), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 2
    assert "no articles found" in result.stdout + result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_a_webUrl_repeated_chunks_later_points_at_its_first_record(run_cli: RunCli, tmp_path: Path) -> None:
    """A chunk of records is indexed at once: a repeat of one of its webUrls chunks later still names the
    record's line, which a data file, unlike an article file, cannot give by being read again."""
    line = exported_golden_corpus(tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()[0]
    record = json.loads(line)
    records = [{**record, "webUrl": f"https://n{n}.example.org/a"} for n in range(600)]
    records.append({**record, "webUrl": "https://n6.example.org/a"})
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = run_cli("validate", str(data), "--no-cache")
    assert result.exit_code == 1
    assert f"{data}:601:1: /webUrl: webUrl https://n6.example.org/a is also used by {data}:7 [unique]" in result.stdout


def test_a_webUrl_repeated_across_records_and_files_points_at_its_first_record(run_cli: RunCli, tmp_path: Path) -> None:
    lines = exported_golden_corpus(tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    second.write_text(f"{lines[1]}\n{lines[3]}\n", encoding="utf-8")
    result = run_cli("validate", str(first), str(second))
    assert result.exit_code == 1
    url_of = [json.loads(line)["webUrl"] for line in lines]
    assert re.findall(
        r"^(.*?):(\d+):1: /webUrl: webUrl (\S+) is also used by (.*) \[unique\]$", result.stdout, re.M
    ) == [
        (str(first), str(len(lines) + 1), url_of[1], f"{first}:2"),
        (str(second), "1", url_of[1], f"{first}:2"),
        (str(second), "2", url_of[3], f"{first}:4"),
    ]


def test_data_file_indexes_are_of_the_names_with_an_input_format() -> None:
    names = ["a.md", "A.JSONL", "b.Parquet", "c.jsonl.md", "d.md.pq", "e.ndJSON", ".csv", "f", "g.json", "h.jsonx"]
    names += ["/deep/" * 30 + name for name in names]
    assert data_file_indexes(names) == [at for at, name in enumerate(names) if input_format(name) is not None]
