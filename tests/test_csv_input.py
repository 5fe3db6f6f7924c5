"""`articles export` and `validate` read the flat CSV that `--to csv` writes back as input.

Outputs are read with json; hostile CSVs are built as text or with the csv
module, and the line each row starts on comes from the csv module's own
count. The expected JSON Lines come from the front matter run, never from
converters.inputs.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES, GOLDEN_CORPUS, SEEDS, RunCli, RunProcess, exported_golden_corpus, run_measured
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ARTICLES, article_file

MEMORY_LIMIT = 250 * 2**20  # as tests/test_hostile.py: flat memory, whatever the input


def _export(run_cli: RunCli, source: Path, out: Path, *options: str) -> Path:
    result = run_cli("export", str(source), "-o", str(out), *options)
    assert result.exit_code == 0, result.stderr
    return out


def _errors(run_cli: RunCli, *args: str) -> list[tuple[int, str, str]]:
    """(line, keyword, message) of each error `validate ARGS --format json` reports; it must exit 1."""
    result = run_cli("validate", *args, "--format", "json")
    assert result.exit_code == 1, result.stdout + result.stderr
    return [(e["line"], e["keyword"], e["message"]) for e in json.loads(result.stdout)["errors"]]


def _csv_text(path: Path) -> str:
    """A CSV file's text with its line ends as they are (read_text would make CR LF a LF)."""
    return path.read_bytes().decode("utf-8")


def _row_lines(text: str) -> list[int]:
    """The line each row of a CSV text starts on, header first, as the csv module counts them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, end = [], 0
    for _ in reader:
        starts.append(end + 1)
        end = reader.line_num
    return starts


def _ordered(value: Any) -> Any:
    """A JSON value with its objects as tuples of pairs, so that comparing it compares key order too."""
    if isinstance(value, dict):
        return tuple((key, _ordered(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


def _without_flat_nulls(value: Any) -> Any:
    """CSV writes a null as it writes an absent key, so a null outside a JSON cell comes back absent.

    JSON cells (lists) keep theirs; objects are flattened into columns, so theirs go too.
    """
    if isinstance(value, dict):
        return {key: _without_flat_nulls(item) for key, item in value.items() if item is not None}
    return value


def _assert_same_but_flat_nulls(direct: bytes, via_csv: bytes) -> None:
    """Line for line: byte for byte, but for records with a null outside a list, which may differ by those alone."""
    direct_lines, via_lines = direct.splitlines(), via_csv.splitlines()
    assert len(via_lines) == len(direct_lines)
    for before, after in zip(direct_lines, via_lines, strict=True):
        expected = _without_flat_nulls(json.loads(before))
        if expected == json.loads(before):
            assert after == before
        else:
            assert _ordered(json.loads(after)) == _ordered(expected)


def _round_trip(run_cli: RunCli, corpus: Path, work: Path, *options: str) -> tuple[bytes, bytes]:
    """(front matter -> JSON Lines, front matter -> CSV -> JSON Lines)."""
    direct = _export(run_cli, corpus, work / "direct.jsonl", *options).read_bytes()
    flat = _export(run_cli, corpus, work / "corpus.csv", *options)
    return direct, _export(run_cli, flat, work / "via-csv.jsonl", *options).read_bytes()


# -- round trips ----------------------------------------------------------------------------


def test_front_matter_to_csv_to_json_lines_equals_front_matter_to_json_lines(run_cli: RunCli, tmp_path: Path) -> None:
    flat = exported_golden_corpus(tmp_path / "corpus.csv")
    via_csv = _export(run_cli, flat, tmp_path / "via-csv.jsonl").read_bytes()
    # The one thing CSV cannot carry is a null apart from an absent key: the expectation is
    # the corpus with its top-level nulls left out of the front matter.
    corpus = tmp_path / "corpus"
    shutil.copytree(GOLDEN_CORPUS, corpus)
    nulls = corpus / "edge-offsets-and-nulls.md"
    text = nulls.read_text(encoding="utf-8")
    without, removed = re.subn(r"^\w+: (?:null|~)\n", "", text, flags=re.M)
    assert removed == 2
    nulls.write_text(without, encoding="utf-8")
    assert via_csv == _export(run_cli, corpus, tmp_path / "direct.jsonl").read_bytes()
    # What the corpus covers, seen in the output: a null inside a list, an empty string,
    # lines and quotes in cells, unicode, a nested object, empty and full lists.
    records = [json.loads(line) for line in via_csv.splitlines()]
    assert records[4]["related"][0]["ampWebUrl"] is None
    assert records[4]["excerpt"] == ""
    assert "\n" in records[2]["excerpt"]
    assert "\n" in records[2]["body"]
    assert "📰 עברית" in records[2]["title"]
    assert records[3]["provider"] == {"name": "Example", "domain": "example.org"}
    assert (records[4]["topics"], records[0]["topics"]) == ([], ["Computer Vision", "AI"])


def test_seeds_and_valid_cases_survive_csv(run_cli: RunCli, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for source in [*SEEDS, *sorted((CASES / "valid").glob("*.md"))]:
        shutil.copy(source, corpus / source.name)
    direct, via_csv = _round_trip(run_cli, corpus, tmp_path, "--allow-duplicate-urls")  # the cases share one
    _assert_same_but_flat_nulls(direct, via_csv)
    assert b'"ampWebUrl":null' in direct  # amp-links-null.md: the case that differs is there


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ARTICLES, min_size=1, max_size=6, unique_by=lambda a: str(a["webUrl"])))
def test_generated_corpora_survive_csv(run_cli: RunCli, tmp_path_factory: Any, articles: list[Any]) -> None:
    root = tmp_path_factory.mktemp("generated")
    corpus = root / "corpus"
    corpus.mkdir()
    for number, article in enumerate(articles):
        (corpus / f"{number:03d}.md").write_bytes(article_file(article))
    direct, via_csv = _round_trip(run_cli, corpus, root)
    _assert_same_but_flat_nulls(direct, via_csv)


def test_columns_in_another_order_read_the_same(run_cli: RunCli, tmp_path: Path) -> None:
    flat = exported_golden_corpus(tmp_path / "corpus.csv")
    with flat.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    # Columns reversed, empty cells unquoted (nulls), but for the one empty string, quoted again.
    text = "".join(",".join(_quoted(cell) for cell in reversed(row)) + "\r\n" for row in rows)
    text, fixed = re.subn(r"(\+05:00),(,Offsets and nulls)", r'\1,""\2', text)
    assert fixed == 1
    reordered = tmp_path / "reordered.csv"
    reordered.write_text(text, encoding="utf-8")
    original = _export(run_cli, flat, tmp_path / "a.jsonl").read_bytes()
    assert _export(run_cli, reordered, tmp_path / "b.jsonl").read_bytes() == original


def _quoted(cell: str) -> str:
    if any(character in cell for character in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


# -- the layout -----------------------------------------------------------------------------


def test_a_column_not_in_the_layout_is_one_error_naming_it(run_cli: RunCli, tmp_path: Path) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    source = tmp_path / "other.csv"
    source.write_text(text.replace("title,excerpt", "title,colour,excerpt", 1), encoding="utf-8")
    assert _errors(run_cli, str(source)) == [
        (
            1,
            "csv",
            "column 'colour' is not a column of the schema's flat CSV; a .csv input must be a CSV "
            "that `articles export --to csv` writes, not a table of --normalize",
        )
    ]
    source.write_text(text.replace("provider__name", "provider_name", 1), encoding="utf-8")
    [(line, keyword, message)] = _errors(run_cli, str(source))
    assert (line, keyword) == (1, "csv")
    assert message.startswith("column 'provider_name' is not a column of the schema's flat CSV (did you mean")


def test_the_tables_of_normalize_are_refused_by_their_first_column(run_cli: RunCli, tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    assert run_cli("export", str(GOLDEN_CORPUS), "--normalize", str(tables)).exit_code == 0
    for name in ("articles.csv", "articles__topics.csv"):
        [(line, keyword, message)] = _errors(run_cli, str(tables / name))
        assert (line, keyword) == (1, "csv")
        assert message.startswith("column '_id' is not a column")


def test_a_column_named_twice_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    source = tmp_path / "twice.csv"
    source.write_text("webUrl,title,webUrl\r\nhttps://a.org/,T,https://a.org/\r\n", encoding="utf-8")
    assert _errors(run_cli, str(source)) == [(1, "csv", "column 'webUrl' appears twice in the header")]


# A schema that requires nothing and whose types are those of the layout, so that what the
# reader makes of each cell reaches the JSON Lines output unjudged.
LOOSE_SCHEMA = {
    "type": "object",
    "properties": {
        "webUrl": {"type": "string"},
        "excerpt": {"type": "string"},
        "ampWebUrl": {"type": ["string", "null"]},
        "quality": {"type": "integer"},
        "score": {"type": "number"},
        "published": {"type": "boolean"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "extra": {},
        "provider": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "owner": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        },
    },
}


def _read_loosely(run_cli: RunCli, tmp_path: Path, csv_text: str) -> list[dict[str, Any]]:
    """The documents a CSV text reads as under LOOSE_SCHEMA, as JSON Lines holds them."""
    schema, source = tmp_path / "loose.json", tmp_path / "loose.csv"
    schema.write_text(json.dumps(LOOSE_SCHEMA), encoding="utf-8")
    source.write_text(csv_text, encoding="utf-8")
    out = _export(run_cli, source, tmp_path / "loose.jsonl", "--schema", str(schema))
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_columns_left_out_are_absent_fields(run_cli: RunCli, tmp_path: Path) -> None:
    with exported_golden_corpus(tmp_path / "corpus.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    kept = ["title", "webUrl", "provider__name", "category"]
    source = tmp_path / "some.csv"
    with source.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([kept, *([row[name] for name in kept] for row in rows)])
    rejects = tmp_path / "rejects.jsonl"
    _export(run_cli, source, tmp_path / "out.jsonl", "--on-invalid", "skip", "--rejects", str(rejects))
    first = json.loads(rejects.read_text(encoding="utf-8").splitlines()[0])
    assert json.loads(first["raw"]) == {
        "title": rows[0]["title"],
        "webUrl": rows[0]["webUrl"],
        "provider": {"name": "ProPakistani"},
        "category": "news",
    }
    assert {(e["line"], e["pointer"], e["message"]) for e in first["errors"] if e["keyword"] == "required"} >= {
        (2, "", "'excerpt' is a required property"),
        (2, "/provider", "'domain' is a required property"),
    }


def test_an_object_comes_back_when_one_of_its_columns_has_a_value(run_cli: RunCli, tmp_path: Path) -> None:
    assert _read_loosely(
        run_cli,
        tmp_path,
        "webUrl,provider__name,provider__owner__name\r\n"
        "https://a.org/1,,\r\n"  # all null: no provider
        'https://a.org/2,"",\r\n'  # an empty string is a value
        "https://a.org/3,,O\r\n",
    ) == [
        {"webUrl": "https://a.org/1"},
        {"webUrl": "https://a.org/2", "provider": {"name": ""}},
        {"webUrl": "https://a.org/3", "provider": {"owner": {"name": "O"}}},
    ]


# -- cells ----------------------------------------------------------------------------------


def test_cells_take_their_columns_types(run_cli: RunCli, tmp_path: Path) -> None:
    assert _read_loosely(
        run_cli,
        tmp_path,
        "webUrl,quality,score,published,topics,excerpt,ampWebUrl,extra\r\n"
        'https://a.org/1,7,-1.5,true,"[""a"",""b,c""]","",,"{""k"":[1,null]}"\r\n'
        "https://a.org/2,0,1e2,false,[],x,https://a.org/amp,plain text\r\n"
        "https://a.org/3,,,,,,,5\r\n",
    ) == [
        {
            "webUrl": "https://a.org/1",
            "quality": 7,
            "score": -1.5,
            "published": True,
            "topics": ["a", "b,c"],
            "excerpt": "",
            "extra": {"k": [1, None]},
        },
        {
            "webUrl": "https://a.org/2",
            "quality": 0,
            "score": 100.0,
            "published": False,
            "topics": [],
            "excerpt": "x",
            "ampWebUrl": "https://a.org/amp",
            "extra": "plain text",  # an untyped column keeps text that is not JSON
        },
        {"webUrl": "https://a.org/3", "extra": 5},
    ]


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("quality", "abc", "column 'quality': 'abc' is not a number"),
        ("quality", " 7", "column 'quality': ' 7' is not a number"),
        ("quality", "NaN", "column 'quality': 'NaN' is not a number"),
        ("heat", "1e999", "column 'heat': '1e999' is not a finite number"),
        ("quality", '""', "column 'quality': '' is not a number"),
        ("published", "yes", "column 'published': 'yes' is not true or false"),
        ("published", "True", "column 'published': 'True' is not true or false"),
        ("topics", "AI", "column 'topics': not valid JSON: Expecting value at character 1"),
        ("topics", '"[""a"",]"', "column 'topics': not valid JSON: Expecting value at character 6"),
        ("related", '"[{""a"":1,""a"":2}]"', "column 'related': key 'a' appears twice in one object"),
    ],
)
def test_a_cell_that_is_not_of_its_type_is_an_error_of_its_row(
    run_cli: RunCli, tmp_path: Path, column: str, cell: str, message: str
) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    rows = text.split("\r\n")
    header = rows[0].split(",")
    minimal = next(number for number, row in enumerate(rows) if "Only the required fields" in row)
    cells = rows[minimal].split(",")  # no cell of this row holds a comma
    cells[header.index(column)] = cell
    rows[minimal] = ",".join(cells)
    source = tmp_path / "bad.csv"
    source.write_text("\r\n".join(rows), encoding="utf-8")
    line = _row_lines(text)[minimal]
    assert line > minimal + 1  # rows before it span lines
    assert _errors(run_cli, str(source)) == [(line, "csv", message)]


def test_a_number_of_the_wrong_kind_is_left_to_the_schema(run_cli: RunCli, tmp_path: Path) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    source = tmp_path / "float.csv"
    source.write_text(text.replace(",article,59,-1,false,", ",article,59.5,-1,false,", 1), encoding="utf-8")
    assert _errors(run_cli, str(source)) == [(2, "type", "expected integer, got number 59.5")]


# -- rows -----------------------------------------------------------------------------------


def test_bad_rows_are_located_after_cells_over_several_lines(run_cli: RunCli, tmp_path: Path) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    assert _row_lines(text) == [1, 2, 3, 4, 9, 10]  # the third article's excerpt and body span lines
    bad = (
        text.replace("news,Sindh Police", 'news,"Sindh" Police', 1)  # text after a closing quote
        .replace("article,,,,Example,example.org,,,,,", "article,,,,Example,example.org,,,,", 1)  # a cell short
        .replace("world,Offsets and nulls", ",world,Offsets and nulls", 1)  # a cell over
    )
    source = tmp_path / "bad.csv"
    source.write_text(bad, encoding="utf-8")
    result = run_cli("validate", str(source))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        f"{source}:2:1: not valid CSV: ',' expected after '\"' [csv]",
        f"{source}:9:1: row has 18 cells where the header has 19 [csv]",
        f"{source}:10:1: row has 20 cells where the header has 19 [csv]",
    ]
    assert "2 valid, 3 invalid" in result.stdout + result.stderr


def test_broken_quoting_invalid_utf8_and_blank_lines(run_cli: RunCli, tmp_path: Path) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    data = text.encode("utf-8")
    data = data.replace(b"news,Sindh Police", b'news,"Sindh" Police', 1)  # text after a closing quote
    data = data.replace(b"news,Karachi Airport Gets", b"news,Karachi Airport \xff", 1)
    data = data.replace(b"\r\nnews,Only the required", b"\r\n\r\n\r\nnews,Only the required", 1)
    source = tmp_path / "broken.csv"
    source.write_bytes(data + b"\r\n")
    result = run_cli("validate", str(source), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(e["line"], e["keyword"]) for e in report["errors"]] == [(2, "csv"), (3, "encoding")]
    assert report["errors"][1]["message"] == "byte 0xff is not valid UTF-8"
    assert "3 valid, 2 invalid" in result.stderr + result.stdout  # the rows after them are read


def test_an_unclosed_quote_is_reported_at_its_row(run_cli: RunCli, tmp_path: Path) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    source = tmp_path / "unclosed.csv"
    source.write_text(text + 'news,"never closed\r\nand so on\r\n', encoding="utf-8")
    assert _errors(run_cli, str(source)) == [(11, "csv", "not valid CSV: unexpected end of data")]


def test_bom_and_line_feeds_alone_read_the_same(run_cli: RunCli, tmp_path: Path) -> None:
    flat = exported_golden_corpus(tmp_path / "corpus.csv")
    expected = _export(run_cli, flat, tmp_path / "expected.jsonl").read_bytes()
    variant = tmp_path / "variant.csv"
    # No cell of the corpus holds a CR: every CRLF ends a row.
    variant.write_bytes(b"\xef\xbb\xbf" + flat.read_bytes().replace(b"\r\n", b"\n"))
    assert _export(run_cli, variant, tmp_path / "variant.jsonl").read_bytes() == expected


def test_a_csv_another_program_wrote_is_read(run_cli: RunCli, tmp_path: Path) -> None:
    """csv.writer, line feeds, a BOM, and a cell with a CR LF in it; no empty strings, which it cannot write."""
    seed = json.loads(_export(run_cli, SEEDS[1], tmp_path / "seed.jsonl").read_bytes())
    seed["excerpt"] = 'Two lines,\r\nwith "quotes"'
    header = ["category", "title", "excerpt", "publishedDateTime", "webUrl", "type", "quality", "published"]
    header += ["provider__name", "provider__domain", "topics"]
    values = {**seed, "provider__name": seed["provider"]["name"], "provider__domain": seed["provider"]["domain"]}
    values["topics"] = json.dumps(seed["topics"])
    values["published"] = "true"
    source = tmp_path / "other.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        writer.writerow([values[name] for name in header])
        writer.writerow([values[name] if name != "webUrl" else "https://a.org/2" for name in header])
    out = _export(run_cli, source, tmp_path / "out.jsonl")
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = {name: seed[name] for name in header if name in seed} | {"provider": seed["provider"]}
    assert records[0] == expected
    assert records[1] == expected | {"webUrl": "https://a.org/2"}


def test_rows_over_the_size_limit_end_the_file(run_cli: RunCli, tmp_path: Path) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    source = tmp_path / "big.csv"
    source.write_text(text.replace("# A body", "# A body" + "x" * 5000, 1), encoding="utf-8")
    result = run_cli("validate", str(source), "--max-file-size", "4K")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{source}:4:1: row is larger than the 4,096-byte limit (see --max-file-size); "
        "the rest of the file is not read [size]"
    )
    assert "2 valid, 1 invalid" in result.stdout + result.stderr


def test_an_unclosed_quote_in_a_large_file_costs_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "hostile.csv"
    with source.open("w", encoding="utf-8") as stream:
        stream.write('webUrl,title\r\nhttps://a.org/,"never closed\r\n')
        line = "x" * 1023 + "\n"
        for _ in range(64 * 1024):  # 64 MiB
            stream.write(line)
    run = run_measured("validate", str(source), "--max-file-size", "1M", "--format", "json")
    assert run.returncode == 1, run.stderr
    [error] = json.loads(run.stdout)["errors"]
    assert (error["line"], error["keyword"]) == (2, "size")
    assert run.peak_rss < MEMORY_LIMIT, f"peak RSS {run.peak_rss / 2**20:.0f} MiB"


def test_many_rows_give_the_same_report_on_one_core_and_two(run_cli: RunCli, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = SEEDS[1].read_text(encoding="utf-8")
    for n in range(600):
        article = seed.replace('webUrl: "https://', f'webUrl: "https://n{n}.', 1)
        if n % 3 == 0:  # an excerpt over three lines, so rows start on lines of their own
            article = article.replace('excerpt: "The', 'excerpt: "One,\\n\\"two\\"\\nthree. The', 1)
        (corpus / f"{n:04d}.md").write_text(article, encoding="utf-8")
    text = _csv_text(_export(run_cli, corpus, tmp_path / "all.csv"))
    text = re.sub(r"(https://n123\.[^,]*,[^,]*,[^,]*,article,)74,", r"\1abc,", text)
    text = re.sub(r"(https://n451\.[^,]*,[^,]*,[^,]*,article,)74,", r"\g<1>101,", text)
    source = tmp_path / "broken.csv"
    source.write_text(text, encoding="utf-8")
    starts = _row_lines(text)
    assert starts[-1] == 1 + 600 + 2 * 200  # header, rows, and the lines the excerpts add
    reports = [_errors(run_cli, str(source), "--jobs", jobs) for jobs in ("1", "2")]
    assert reports[0] == reports[1]
    assert [(line, keyword) for line, keyword, _ in reports[0]] == [(starts[124], "csv"), (starts[452], "maximum")]


def test_an_empty_file_and_a_header_alone(run_cli: RunCli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert _errors(run_cli, str(empty)) == [(1, "empty", "file is empty")]
    header = tmp_path / "header.csv"
    header.write_text("webUrl,title\r\n", encoding="utf-8")
    result = run_cli("export", str(header), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 2
    assert "no articles found" in result.stdout + result.stderr


def test_rejects_keep_rows_as_json_and_unreadable_rows_as_csv_text(run_cli: RunCli, tmp_path: Path) -> None:
    text = _csv_text(exported_golden_corpus(tmp_path / "corpus.csv"))
    text = text.replace("article,,,,Example,example.org", "article,abc,,,Example,example.org", 1)
    text = text.replace("world,Offsets and nulls", '"",Offsets and nulls', 1)  # an empty category
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    _export(run_cli, source, tmp_path / "out.jsonl", "--on-invalid", "skip", "--rejects", str(rejects))
    rejected = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["errors"][0]["line"], r["errors"][0]["keyword"]) for r in rejected] == [(9, "csv"), (10, "minLength")]
    assert rejected[0]["raw"].startswith("news,Only the required fields,")
    assert rejected[0]["raw"].endswith("\r\n")
    assert json.loads(rejected[1]["raw"])["title"] == "Offsets and nulls"


# -- which files are read as CSV --------------------------------------------------------------


def test_csv_files_are_found_as_json_lines_are(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(SEEDS[0], folder / "article.md")
    exported_golden_corpus(folder / "five.csv")
    exported_golden_corpus(folder / "five.jsonl")

    def checked(*args: str) -> str:
        result = run_cli("validate", *args)
        assert result.exit_code == 0, result.stdout
        found = re.search(r"(\d+) files? checked", result.stdout + result.stderr)
        assert found is not None
        return found.group(1)

    assert checked(str(folder)) == "1"  # a walk reads article files only, unless --include names data files
    assert checked(str(folder), "--include", "*.csv") == "5"
    assert checked(str(folder), "--include", "*.jsonl") == "5"
    assert checked(str(folder / "five.csv")) == "5"  # a file named is read by its extension


def test_the_documented_command(run_process: RunProcess, tmp_path: Path) -> None:
    """The shell session in the docs, run as a real process: examples/ holds no nulls, so the round trip is exact."""
    examples = str(SEEDS[0].parent)
    assert run_process("export", examples, "-o", "articles.csv", cwd=tmp_path).returncode == 0
    result = run_process("export", "articles.csv", "-o", "articles.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 2 records to articles.jsonl" in result.stderr
    assert run_process("export", examples, "-o", "direct.jsonl", cwd=tmp_path).returncode == 0
    assert (tmp_path / "articles.jsonl").read_bytes() == (tmp_path / "direct.jsonl").read_bytes()
