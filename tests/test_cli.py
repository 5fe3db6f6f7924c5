"""`articles validate` and friends, as a user runs them: in-process and as a real subprocess."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import CASES, EXAMPLES, SEEDS, RunCli, RunProcess

from converters import __version__
from converters.report import REPORTERS

TEXT_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?:warning: )?(?:/\S*: )?.+ \[[\w-]+\]$")
GITHUB_LINE = re.compile(r"^::(error|warning) file=[^,]+(,line=\d+,col=\d+)?,title=[^:]+::.+$")


@pytest.fixture
def mixed(corpus: Path) -> Path:
    """The seeds, a wrong-typed copy, a duplicate URL and two reader errors."""
    seed = SEEDS[0].read_text(encoding="utf-8")
    (corpus / "wrong.md").write_text(
        seed.replace("title: ", "title: 42 #", 1).replace('webUrl: "https://', 'webUrl: "https://other.', 1),
        encoding="utf-8",
    )
    (corpus / "dup.md").write_text(seed, encoding="utf-8")
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "tabs.md").write_text("---\na:\n\tb: 1\n---\n", encoding="utf-8")
    return corpus


def test_examples_validate(run_cli: RunCli) -> None:
    result = run_cli("validate", str(EXAMPLES))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith(f"{len(SEEDS)} files checked: {len(SEEDS)} valid, 0 invalid")


def test_text_report_lines(run_cli: RunCli, mixed: Path) -> None:
    result = run_cli("validate", str(mixed))
    assert result.exit_code == 1
    *lines, summary = result.stdout.splitlines()
    assert all(TEXT_LINE.match(line) or line.endswith("[empty]") for line in lines), lines
    assert f"{mixed / 'wrong.md'}:3:8: /title: expected string, got integer 42 [type]" in lines
    assert f"{mixed / 'tabs.md'}:3:1: tab character in indentation: YAML indents with spaces only [tab]" in lines
    assert any(line.startswith(f"{mixed / 'dup.md'}:7:") and "[unique]" in line for line in lines)
    assert summary.startswith("6 files checked: 2 valid, 4 invalid; 4 errors")


def test_json_report(run_cli: RunCli, mixed: Path) -> None:
    result = run_cli("validate", str(mixed), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["checked"], report["valid"], report["invalid"]) == (6, 2, 4)
    assert {e["file"] for e in report["errors"]} == {
        str(mixed / n) for n in ("wrong.md", "dup.md", "empty.md", "tabs.md")
    }
    for error in report["errors"]:
        assert set(error) == {"file", "line", "column", "pointer", "keyword", "message"}
    unique = next(e for e in report["errors"] if e["keyword"] == "unique")
    assert (unique["pointer"], unique["line"]) == ("/webUrl", 7)
    assert str(mixed / SEEDS[0].name) in unique["message"]
    assert report["warnings"] == []
    assert "6 files checked" in result.stderr  # the summary stays off stdout


def test_junit_report(run_cli: RunCli, mixed: Path) -> None:
    result = run_cli("validate", str(mixed), "--format", "junit")
    assert result.exit_code == 1
    suite = ET.fromstring(result.stdout).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("6", "4")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {str(p) for p in sorted(mixed.iterdir())}
    failure = cases[str(mixed / "wrong.md")].find("failure")
    assert failure is not None
    assert "expected string, got integer 42" in (failure.text or "")
    assert cases[str(mixed / SEEDS[1].name)].find("failure") is None


def test_github_report(run_cli: RunCli, mixed: Path) -> None:
    result = run_cli("validate", str(mixed), "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert all(GITHUB_LINE.match(line) for line in lines), lines
    assert f"::error file={mixed / 'wrong.md'},line=3,col=8,title=articles%3A type::/title: expected string" in (
        "\n".join(lines)
    )


@pytest.mark.parametrize("report_format", list(REPORTERS))
def test_every_format_reports_warnings_and_exits_0_on_valid(run_cli: RunCli, report_format: str) -> None:
    case = CASES / "valid" / "yaml11-scalars-warn.md"
    result = run_cli("validate", str(case), "--format", report_format)
    assert result.exit_code == 0
    assert "017" in result.stdout


def test_yaml11_warning_in_json_carries_its_location(run_cli: RunCli) -> None:
    result = run_cli("validate", str(CASES / "valid" / "yaml11-scalars-warn.md"), "-f", "json")
    warnings = json.loads(result.stdout)["warnings"]
    assert [(w["pointer"], w["line"], w["keyword"]) for w in warnings] == [
        ("/published", 8, "yaml11"),
        ("/quality", 9, "yaml11"),
        ("/heat", 10, "yaml11"),
    ]


def test_allow_duplicate_urls(run_cli: RunCli, corpus: Path) -> None:
    shutil.copy(SEEDS[0], corpus / "copy.md")
    assert run_cli("validate", str(corpus)).exit_code == 1
    assert run_cli("validate", str(corpus), "--allow-duplicate-urls").exit_code == 0


def test_stdin(run_cli: RunCli) -> None:
    ok = run_cli("validate", "-", input=SEEDS[0].read_bytes())
    assert ok.exit_code == 0
    bad = run_cli("validate", "-", "-f", "json", input=b"---\ntitle: x\n---\n")
    assert bad.exit_code == 1
    assert {e["file"] for e in json.loads(bad.stdout)["errors"]} == {"<stdin>"}


def test_max_file_size(run_cli: RunCli) -> None:
    result = run_cli("validate", str(SEEDS[0]), "--max-file-size", "1K")
    assert result.exit_code == 1
    assert "[size]" in result.stdout
    assert run_cli("validate", str(SEEDS[0]), "--max-file-size", "1MiB").exit_code == 0


def test_unreadable_file_is_an_error_not_a_crash(run_cli: RunCli, corpus: Path) -> None:
    (corpus / "broken.md").symlink_to(corpus / "missing.md")
    result = run_cli("validate", str(corpus))
    assert result.exit_code == 1
    assert f"{corpus / 'broken.md'}: cannot read file: No such file or directory [read]" in result.stdout


def test_color(run_cli: RunCli, mixed: Path) -> None:
    coloured = run_cli("validate", str(mixed), "--color", "always").stdout
    plain = run_cli("validate", str(mixed), "--color", "never").stdout
    assert "\033[" not in plain
    timing = re.compile(r" in [0-9.]+ s$", re.MULTILINE)
    assert timing.sub("", re.sub("\033\\[[0-9;]*m", "", coloured)) == timing.sub("", plain)  # only colour added
    error_lines = [line for line in coloured.splitlines() if "[" in line and "warning: " not in line][:-1]
    assert error_lines
    for line in error_lines:
        assert re.search("\033\\[31m\\[[A-Za-z0-9-]+\\]\033\\[0m$", line), line  # the keyword in red
    assert not re.search("\033\\[[0-9;]*m\033\\[0m", coloured)  # no empty coloured span


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "/no/such/path"],
        ["validate", "--format", "xml", "examples"],
        ["validate", "--jobs", "0", "examples"],
        ["validate", "--max-file-size", "lots", "examples"],
        ["validate", "--color", "sometimes", "examples"],
        ["validate"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(run_cli: RunCli, args: list[str]) -> None:
    result = run_cli(*[str(EXAMPLES) if a == "examples" else a for a in args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_an_empty_directory_never_passes(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "notes.rst").write_text("x", encoding="utf-8")
    result = run_cli("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "no articles found" in result.stderr


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert (result.exit_code, result.stdout.strip()) == (0, f"articles {__version__}")


# -- as a real process ------------------------------------------------------------


def test_console_script_and_module_agree(run_process: RunProcess) -> None:
    script = run_process("validate", str(EXAMPLES))
    module = subprocess.run(
        [sys.executable, "-m", "converters", "validate", str(EXAMPLES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert script.returncode == module.returncode == 0
    assert script.stdout.split(" in ")[0] == module.stdout.split(" in ")[0]


def test_every_bad_input_gets_a_clear_error_and_no_traceback(run_process: RunProcess) -> None:
    # --max-file-size makes the size-limit case too large, as its expectation says.
    result = run_process("validate", str(CASES / "invalid"), "--format", "json", "--max-file-size", "1K")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    cases = sorted((CASES / "invalid").glob("*.md"))
    assert report["invalid"] == report["checked"] == len(cases)
    assert {e["file"] for e in report["errors"]} == {str(p) for p in cases}


def test_progress_never_reaches_a_pipe(run_process: RunProcess) -> None:
    result = run_process("validate", str(EXAMPLES))
    assert "\r" not in result.stderr + result.stdout


def _big_corpus(root: Path, files: int) -> None:
    seeds = [s.read_text(encoding="utf-8") for s in SEEDS]
    for n in range(files):
        text = seeds[n % 2].replace('webUrl: "https://', f'webUrl: "https://n{n}.', 1)
        if n % 97 == 0:
            text = text.replace("quality: ", "quality: -", 1)
        if n % 101 == 0:
            text = text.replace("published: ", "published: yes #", 1)
        (root / f"{n // 100:03d}" / f"{n:05d}.md").parent.mkdir(exist_ok=True)
        (root / f"{n // 100:03d}" / f"{n:05d}.md").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("report_format", ["text", "json", "junit"])
def test_parallel_output_is_identical_to_serial(run_process: RunProcess, tmp_path: Path, report_format: str) -> None:
    _big_corpus(tmp_path, 700)  # past the size below which work stays in one process
    serial = run_process("validate", str(tmp_path), "-f", report_format, "--jobs", "1")
    parallel = run_process("validate", str(tmp_path), "-f", report_format, "--jobs", "2")
    assert serial.returncode == parallel.returncode == 1
    strip_time = re.compile(r'( in [0-9.]+ s| time="[0-9.]+")')
    assert strip_time.sub("", parallel.stdout) == strip_time.sub("", serial.stdout)
    # 8 files have n % 97 == 0; JUnit repeats a file's first error in the failure's message attribute.
    assert serial.stdout.count("is less than the minimum of 0") == (16 if report_format == "junit" else 8)


def test_a_duplicate_url_error_takes_its_place_in_line_order(run_cli: RunCli, corpus: Path) -> None:
    text = SEEDS[0].read_text(encoding="utf-8").replace("quality: 59", "quality: 101")
    (corpus / "zz-copy.md").write_text(text, encoding="utf-8")
    source_lines = text.split("\n")
    expected = [
        1 + next(n for n, line in enumerate(source_lines) if line.startswith(key)) for key in ("webUrl", "quality")
    ]
    lines = run_cli("validate", str(corpus)).stdout.splitlines()[:-1]
    assert [int(line.split(":")[1]) for line in lines] == expected


def test_max_errors_stops_after_the_file_that_reaches_it(run_process: RunProcess, tmp_path: Path) -> None:
    _big_corpus(tmp_path, 700)  # files 0, 97, 194, ... hold one error each
    outputs = []
    for jobs in ("1", "2"):
        result = run_process("validate", str(tmp_path), "--max-errors", "3", "--jobs", jobs, "-f", "json")
        assert result.returncode == 1
        assert "stopped at the error limit" in result.stderr
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]  # where a run stops does not depend on --jobs
    report = outputs[0]
    assert report["stopped"] is True
    assert report["checked"] == 195  # files 0 to 194: the third error is in file 194
    assert [e["file"].rsplit("/", 1)[1] for e in report["errors"]] == ["00000.md", "00097.md", "00194.md"]


def test_fail_fast_stops_at_the_first_invalid_file(run_cli: RunCli) -> None:
    invalid = sorted(str(p) for p in (CASES / "invalid").glob("*.md"))
    result = run_cli("validate", *invalid, "--fail-fast")
    assert result.exit_code == 1
    assert {line.split(":", 1)[0] for line in result.stdout.splitlines()[:-1]} == {invalid[0]}
    assert result.stdout.splitlines()[-1].startswith("1 file checked: 0 valid, 1 invalid")
    assert "stopped at the error limit" in result.stdout


def test_a_run_that_stays_under_max_errors_is_complete(run_cli: RunCli, mixed: Path) -> None:
    everything = run_cli("validate", str(mixed), "-f", "json")
    limited = run_cli("validate", str(mixed), "-f", "json", "--max-errors", "1000")
    assert limited.stdout == everything.stdout
    assert "stopped" not in json.loads(limited.stdout)


@pytest.mark.parametrize("size", ["1X", "0", "-5"])
@pytest.mark.parametrize("command", ["validate", "export", "load"])
def test_a_bad_max_file_size_names_the_option(run_cli: RunCli, tmp_path: Path, command: str, size: str) -> None:
    extra = {
        "validate": [],
        "export": ["-o", str(tmp_path / "o.jsonl")],
        "load": ["--into", str(tmp_path / "w.duckdb")],
    }
    result = run_cli(command, "examples", *extra[command], "--max-file-size", size)
    assert result.exit_code == 2
    assert "Invalid value for '--max-file-size'" in result.stderr
    assert "Traceback" not in result.stderr


def test_files_given_by_name_that_are_all_excluded_leave_nothing_to_check(run_cli: RunCli, tmp_path: Path) -> None:
    """As pre-commit runs the hook: with file names, some of which the configuration leaves out."""
    readme = tmp_path / "README.md"
    readme.write_text("# not an article\n", encoding="utf-8")
    result = run_cli("validate", str(readme), "--exclude", "README.md", "--force-exclude")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "0 files checked" in result.stdout
    named = run_cli("validate", str(readme), "--exclude", "README.md")  # named, and not forced: checked
    assert named.exit_code == 1
    mixed = run_cli("validate", str(readme), str(SEEDS[0]), "--exclude", "README.md", "--force-exclude")
    assert mixed.exit_code == 0
    assert "1 file checked: 1 valid" in mixed.stdout


@pytest.mark.parametrize("report", ["text", "json", "sarif", "junit"])
def test_output_file_writes_the_report_whole_and_nothing_else(run_cli: RunCli, tmp_path: Path, report: str) -> None:
    out = tmp_path / "report.out"
    result = run_cli("validate", str(CASES / "invalid"), "--format", report, "--output-file", str(out))
    assert result.exit_code == 1
    assert result.stdout == ""
    reference = run_cli("validate", str(CASES / "invalid"), "--format", report).stdout
    timing = re.compile(r'( in [0-9.]+ s$| time="[0-9.]+")', re.MULTILINE)
    assert timing.sub("", out.read_text(encoding="utf-8")) == timing.sub("", reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.out"]  # no temporary left


def test_output_file_of_someone_else_is_refused_and_a_missing_folder_too(run_cli: RunCli, tmp_path: Path) -> None:
    theirs = tmp_path / "report.json"
    theirs.write_text("keep\n", encoding="utf-8")
    refused = run_cli("validate", str(SEEDS[0]), "--format", "json", "--output-file", str(theirs))
    assert refused.exit_code == 2
    assert "--overwrite" in refused.stderr
    assert theirs.read_text(encoding="utf-8") == "keep\n"
    missing = run_cli("validate", str(SEEDS[0]), "--output-file", str(tmp_path / "no" / "r.txt"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


@pytest.mark.parametrize("command", ["export", "load"])
def test_a_machine_readable_report_never_shares_its_stream_with_the_summary(
    run_cli: RunCli, tmp_path: Path, command: str
) -> None:
    target = ["-o", str(tmp_path / "o.jsonl")] if command == "export" else ["--into", str(tmp_path / "w.duckdb")]
    on_stderr = run_cli(command, str(CASES / "invalid"), *target, "--report", "json")
    assert on_stderr.exit_code == 1
    assert json.loads(on_stderr.stderr)["invalid"] > 0  # the whole of stderr parses
    report = tmp_path / "report.json"
    in_file = run_cli(command, str(CASES / "invalid"), *target, "--report", "json", "--output-file", str(report))
    assert json.loads(report.read_text(encoding="utf-8"))["invalid"] > 0
    assert in_file.stderr.startswith("nothing ")  # the human summary, alone on stderr


def test_quiet_shows_errors_only_and_statistics_count_keywords(run_cli: RunCli) -> None:
    files = [str(CASES / "invalid" / "typo-key.md"), str(CASES / "valid" / "yaml11-scalars-warn.md")]
    quiet = run_cli("validate", *files, "--quiet", "--allow-duplicate-urls")
    assert quiet.exit_code == 1
    assert quiet.stdout.splitlines() == [line for line in quiet.stdout.splitlines() if "warning" not in line]
    assert len(quiet.stdout.splitlines()) == 2
    assert quiet.stderr == ""
    statistics = run_cli("validate", str(CASES / "invalid"), "--statistics")
    rows = [line.split() for line in statistics.stdout.splitlines()]
    counts = [int(row[0]) for row in rows]
    assert counts == sorted(counts, reverse=True)
    findings = json.loads(run_cli("validate", str(CASES / "invalid"), "--format", "json").stdout)["errors"]
    assert sum(counts) == len(findings)
    assert {row[1] for row in rows} == {f["keyword"] for f in findings}
    assert run_cli("validate", str(CASES / "invalid"), "--statistics", "--format", "json").exit_code == 2


@pytest.mark.parametrize("command", ["validate", "export", "load"])
def test_usage_reads_path_dots_and_every_placeholder_is_a_word(run_cli: RunCli, command: str) -> None:
    shown = run_cli(command, "--help").stdout
    assert f"Usage: articles {command} [OPTIONS] PATH..." in shown
    assert "{PATH}" not in shown
    assert not re.search(r"<[a-z ]+>", shown), re.findall(r"<[a-z ]+>", shown)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-o", "{tmp}/a.parquet", "--title", "News"], "--title is for rss output, and this export writes parquet"),
        (["-o", "{tmp}/a.csv", "--indent", "2"], "--indent is for json output, and this export writes csv"),
        (["-o", "{tmp}/a.jsonl", "--compression", "gzip"], "--compression is for parquet output"),
        (["-o", "{tmp}/a.json", "--format", "json"], "--to FORMAT is the data's format, --report FORMAT the error"),
    ],
)
def test_an_option_for_another_format_is_a_usage_error(
    run_cli: RunCli, tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = run_cli("export", str(EXAMPLES), *(a.format(tmp=tmp_path) for a in arguments))
    assert result.exit_code == 2
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_format_that_disagrees_with_the_extension_is_written_with_a_warning(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("export", str(EXAMPLES), "-o", str(tmp_path / "a.json"), "--to", "jsonl")
    assert result.exit_code == 0
    assert "warning: " in result.stderr
    assert "named like json, but --to jsonl writes jsonl" in result.stderr
    assert [json.loads(line) for line in (tmp_path / "a.json").read_text(encoding="utf-8").splitlines()]


def test_a_dialect_asks_for_sql(run_cli: RunCli) -> None:
    assert (
        run_cli("schema", "--dialect", "postgres").stdout
        == run_cli("schema", "-f", "sql", "--dialect", "postgres").stdout
    )


def test_nothing_but_the_report_and_the_summary_reaches_stderr(run_process: RunProcess, tmp_path: Path) -> None:
    """rapidyaml prints errors of its own on deep nesting; a JSON report on stderr must still parse."""
    invalid = CASES / "invalid"
    result = run_process("validate", str(invalid))
    assert result.stderr.splitlines() == [line for line in result.stderr.splitlines() if "files checked" in line]
    exported = run_process("export", str(invalid), "-o", str(tmp_path / "o.jsonl"), "--report", "json")
    assert json.loads(exported.stderr)["invalid"] > 1


@pytest.mark.parametrize("command", ["validate", "export", "load", "schema"])
def test_every_help_example_parses_as_a_command_line(run_cli: RunCli, command: str) -> None:
    import shlex

    import typer.main

    from converters.cli import app

    shown = run_cli(command, "--help").stdout
    examples = [line.strip() for line in shown.split("Examples:\n", 1)[1].splitlines() if line.strip()]
    assert examples
    group: Any = typer.main.get_command(app)
    for example in examples:
        words = shlex.split(example.split(" < ")[0].split(" > ")[0])
        assert words[:2] == ["articles", command], example
        group.commands[command].make_context(command, words[2:])  # raises for an unknown option or bad value


@pytest.mark.parametrize(
    "command",
    [["validate"], ["export", "--output", "out.jsonl"], ["load", "--into", "out.sqlite"]],
    ids=["validate", "export", "load"],
)
def test_an_empty_path_is_a_usage_error_naming_it(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # "" would otherwise be taken for it
    (tmp_path / "a.md").write_text(SEEDS[0].read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli(command[0], "", *command[1:])
    assert result.exit_code == 2
    assert "an empty path names no file or directory" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.md"]


def test_an_empty_path_given_to_the_library_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from converters.discover import InputError
    from converters.export import export

    monkeypatch.chdir(tmp_path)  # which the output is inside, were "" taken for it
    with pytest.raises(InputError, match="an empty path names no file or directory"):
        export([""], str(tmp_path / "out.jsonl"), "jsonl")
    assert list(tmp_path.iterdir()) == []
