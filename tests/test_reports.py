"""The CI report formats (sarif, gitlab, rdjson, azure), checked against their specifications.

Every expectation comes from outside the reporter under test: the official SARIF
2.1.0 schema (tests/data), the positions in the `json` report of the same run,
the file's own bytes, and a parser that unescapes as the Azure Pipelines agent does.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from conftest import CASES, REPO, SEEDS, RunCli, RunProcess
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.validators import validator_for
from test_cli import _big_corpus

from converters.report import REPORTERS
from converters.report.rdjson import byte_column

SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
NEW_FORMATS = ["sarif", "gitlab", "rdjson", "azure"]
# Two errors: /quality on an ASCII line, and /provider/domain past characters of 3 and 4 UTF-8
# bytes, where the code-point column (35) and the byte column (44) differ by 9.
UNICODE_ARTICLE = """---
category: news
title: "Ünïcödé"
excerpt: "An excerpt"
publishedDateTime: 2023-08-04T06:59:00Z
webUrl: "https://example.org/reports-unicode"
type: article
quality: -1
provider: {name: "日本語 𐐀", domain: 5}
---
"""

Located = tuple[str, int | None, int | None, str, str]  # path, line, column, keyword, pointer: message


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root (the working directory) holding every invalid case, a warning, and a non-ASCII line."""
    articles = tmp_path / "articles"
    shutil.copytree(CASES / "invalid", articles, ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(CASES / "valid" / "yaml11-scalars-warn.md", articles)
    (articles / "unicode.md").write_text(UNICODE_ARTICLE, encoding="utf-8")
    odd_name = UNICODE_ARTICLE.replace("/reports-unicode", "/reports-odd-name")
    (articles / "a name with spaces, ünï & 100%.md").write_text(odd_name, encoding="utf-8")  # URIs escape it
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _report(run_cli: RunCli, report_format: str, *args: str, input: bytes | None = None) -> str:
    result = run_cli("validate", *args, "--format", report_format, input=input)
    assert result.exit_code in (0, 1), result.stderr
    return result.stdout


def _expected(run_cli: RunCli, *args: str) -> list[tuple[str, dict[str, Any]]]:
    """(level, finding) for every error and warning of the `json` report of the same run."""
    report = json.loads(_report(run_cli, "json", *args))
    return [("error", e) for e in report["errors"]] + [("warning", w) for w in report["warnings"]]


def _text(finding: dict[str, Any]) -> str:
    return f"{finding['pointer']}: {finding['message']}" if finding["pointer"] else finding["message"]


def _relative(file: str) -> str:
    """The path from the project root (the working directory), with forward slashes."""
    return Path(file).resolve().relative_to(Path.cwd().resolve()).as_posix()


def _located(finding: dict[str, Any]) -> Located:
    return _relative(finding["file"]), finding["line"], finding["column"], finding["keyword"], _text(finding)


# -- SARIF --------------------------------------------------------------------------


def _schema_errors(document: Any) -> list[str]:
    assert validator_for(SARIF_SCHEMA) is Draft4Validator  # the schema says draft-04
    # Every format jsonschema knows, so that `uri` and `uri-reference` are checked too.
    validator = Draft4Validator(SARIF_SCHEMA, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def test_sarif_is_valid_against_the_official_schema(run_cli: RunCli, project: Path) -> None:
    document = json.loads(_report(run_cli, "sarif", "articles"))
    assert _schema_errors(document) == []
    assert len(document["runs"][0]["results"]) == len(_expected(run_cli, "articles"))
    assert any(
        "%20" in result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for result in document["runs"][0]["results"]
    )
    broken = copy.deepcopy(document)  # the check can fail: a result without its message is refused
    del broken["runs"][0]["results"][0]["message"]
    assert _schema_errors(broken)


def test_sarif_has_what_github_requires(run_cli: RunCli, project: Path) -> None:
    run = json.loads(_report(run_cli, "sarif", str(project / "articles")))["runs"][0]
    expected = _expected(run_cli, str(project / "articles"))
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    for rule in rules.values():
        for field in ("shortDescription", "fullDescription", "help"):
            assert 0 < len(rule[field]["text"]) <= 1024, (rule["id"], field)
        assert not rule["shortDescription"]["text"].startswith("Fails `"), f"{rule['id']} has only the generic text"
    assert run["columnKind"] == "unicodeCodePoints"
    located: list[Located] = []
    for result in run["results"]:
        assert result["ruleId"] in rules
        assert result["partialFingerprints"]["primaryLocationLineHash"]
        physical = result["locations"][0]["physicalLocation"]
        artifact = physical["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert not urlsplit(artifact["uri"]).scheme
        assert not artifact["uri"].startswith("/")
        region = physical.get("region", {})
        position = (region.get("startLine"), region.get("startColumn"))
        located.append((unquote(artifact["uri"]), *position, result["ruleId"], result["message"]["text"]))
        assert result["level"] == ("warning" if result["ruleId"] == "yaml11" else "error")
    assert sorted(located, key=repr) == sorted((_located(finding) for _, finding in expected), key=repr)
    assert set(rules) == {finding["keyword"] for _, finding in expected}


def test_sarif_paths_outside_the_project_and_from_stdin(run_cli: RunCli, project: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside dir" / "ünï.md"
    outside.parent.mkdir()
    outside.write_text(UNICODE_ARTICLE, encoding="utf-8")
    results = json.loads(_report(run_cli, "sarif", str(outside)))["runs"][0]["results"]
    artifact = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert "uriBaseId" not in artifact
    assert artifact["uri"].startswith("file:///")
    assert Path(unquote(urlsplit(artifact["uri"]).path)) == outside.resolve()

    stdin = json.loads(_report(run_cli, "sarif", "-", input=UNICODE_ARTICLE.encode("utf-8")))
    assert _schema_errors(stdin) == []
    result = next(r for r in stdin["runs"][0]["results"] if r["message"]["text"].startswith("/provider/"))
    physical = result["locations"][0]["physicalLocation"]
    assert "uri" not in physical["artifactLocation"]
    assert (physical["region"]["startLine"], physical["region"]["startColumn"]) == (9, 35)


@pytest.mark.parametrize(("report_format", "empty"), [("sarif", "runs"), ("gitlab", ""), ("rdjson", "diagnostics")])
def test_a_clean_run_is_a_complete_empty_report(run_cli: RunCli, report_format: str, empty: str) -> None:
    document = json.loads(_report(run_cli, report_format, *map(str, SEEDS)))
    if report_format == "sarif":
        assert _schema_errors(document) == []
        assert document["runs"][0]["results"] == []
    else:
        assert (document[empty] if empty else document) == []


def test_sarif_says_when_the_run_stopped_early(run_cli: RunCli, project: Path) -> None:
    document = json.loads(_report(run_cli, "sarif", "articles", "--max-errors", "1"))
    assert _schema_errors(document) == []
    notifications = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "later files were not checked" in notifications[0]["message"]["text"]
    complete = json.loads(_report(run_cli, "sarif", "articles"))
    assert "toolExecutionNotifications" not in complete["runs"][0]["invocations"][0]


# -- GitLab ---------------------------------------------------------------------------


def test_gitlab_code_quality_fields(run_cli: RunCli, project: Path) -> None:
    issues = json.loads(_report(run_cli, "gitlab", str(project / "articles")))
    expected = _expected(run_cli, str(project / "articles"))
    assert len(issues) == len(expected)
    severities = {"error": "major", "warning": "minor"}
    wanted = sorted(
        (severities[level], _relative(f["file"]), f["line"] or 1, f["keyword"], _text(f)) for level, f in expected
    )
    got = sorted(
        (i["severity"], i["location"]["path"], i["location"]["lines"]["begin"], i["check_name"], i["description"])
        for i in issues
    )
    assert got == wanted
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)  # GitLab keeps one issue per fingerprint


def test_gitlab_fingerprints_ignore_lines_and_tell_identical_findings_apart(run_cli: RunCli, project: Path) -> None:
    records = project / "records.jsonl"
    records.write_text('{"title": "a"}\n{"title": "a"}\n', encoding="utf-8")  # the same errors, twice
    article = project / "articles" / "missing-required.md"
    before = json.loads(_report(run_cli, "gitlab", "records.jsonl", str(article.relative_to(project))))
    assert len({issue["fingerprint"] for issue in before}) == len(before)

    article.write_text(article.read_text(encoding="utf-8").replace("---\n", "---\n# a comment\n", 1), encoding="utf-8")
    after = json.loads(_report(run_cli, "gitlab", "records.jsonl", str(article.relative_to(project))))
    moved = [(b, a) for b, a in zip(before, after, strict=True) if b["location"]["path"].endswith(".md")]
    assert moved
    for old, new in moved:
        assert new["location"]["lines"]["begin"] == old["location"]["lines"]["begin"] + 1
        assert new["fingerprint"] == old["fingerprint"]


# -- the same bytes, run after run, whatever the worker count -----------------------------


@pytest.mark.parametrize("report_format", NEW_FORMATS)
def test_output_is_identical_across_runs_and_worker_counts(
    run_process: RunProcess, tmp_path: Path, report_format: str
) -> None:
    _big_corpus(tmp_path, 600)  # past the size below which work stays in one process
    outputs = [
        run_process("validate", "--format", report_format, "--jobs", jobs, ".", cwd=tmp_path)
        for jobs in ("1", "2", "2")
    ]
    assert [o.returncode for o in outputs] == [1, 1, 1]
    assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout
    assert outputs[0].stdout.count("is less than the minimum of 0") == 7  # files 0, 97, ..., 582


# -- rdjson ---------------------------------------------------------------------------------


def test_rdjson_structure(run_cli: RunCli, project: Path) -> None:
    result = json.loads(_report(run_cli, "rdjson", str(project / "articles")))
    assert result["source"]["name"] == "articles"
    expected = _expected(run_cli, str(project / "articles"))
    assert len(result["diagnostics"]) == len(expected)
    for diagnostic in result["diagnostics"]:
        assert set(diagnostic) == {"message", "location", "severity", "code"}
        assert diagnostic["severity"] in ("ERROR", "WARNING")
        assert isinstance(diagnostic["code"]["value"], str)
        assert diagnostic["message"]
        assert diagnostic["location"]["path"].startswith("articles/")
        start = diagnostic["location"].get("range", {}).get("start", {})
        assert all(isinstance(start.get(key, 1), int) and start.get(key, 1) >= 1 for key in ("line", "column"))
    wanted = sorted((_relative(f["file"]), f["keyword"], _text(f)) for _, f in expected)
    got = sorted((d["location"]["path"], d["code"]["value"], d["message"]) for d in result["diagnostics"])
    assert got == wanted


def test_rdjson_counts_columns_in_utf8_bytes(run_cli: RunCli, project: Path) -> None:
    path = "articles/unicode.md"
    lines = (project / path).read_text(encoding="utf-8").split("\n")
    expected = _expected(run_cli, path)
    diagnostics = json.loads(_report(run_cli, "rdjson", path))["diagnostics"]
    converted = []
    for diagnostic, (_, finding) in zip(diagnostics, expected, strict=True):
        in_bytes = len(lines[finding["line"] - 1][: finding["column"] - 1].encode("utf-8")) + 1
        assert diagnostic["location"]["range"]["start"] == {"line": finding["line"], "column": in_bytes}
        converted.append(in_bytes - finding["column"])
    assert sorted(converted) == [0, 9]  # the ASCII line as it was, the other one moved


def test_rdjson_keeps_the_column_when_the_line_cannot_be_read(run_cli: RunCli, project: Path) -> None:
    diagnostics = json.loads(_report(run_cli, "rdjson", "-", input=UNICODE_ARTICLE.encode("utf-8")))["diagnostics"]
    start = next(d for d in diagnostics if d["message"].startswith("/provider/"))["location"]["range"]["start"]
    assert start == {"line": 9, "column": 35}  # stdin is gone: the code-point column, not a guess


def test_byte_column_follows_the_reviewdog_example() -> None:
    # reviewdog.proto, Position.column: in 'a𐐀b', a is at 1, 𐐀 at 2, b at 6.
    line = "a𐐀b\n".encode()
    assert [byte_column(line, 2, column) for column in (1, 2, 3)] == [1, 2, 6]
    assert byte_column(b"\xef\xbb\xbf" + line, 1, 3) == 9  # the byte-order mark the reader skips is in the file


# -- Azure Pipelines ----------------------------------------------------------------------------


def _agent_parse(line: str) -> tuple[dict[str, str], str]:
    """A logging command as the Azure Pipelines agent reads it (Command.TryParse): properties and message."""
    prefix = line.index("##vso[") + len("##vso[")
    end = line.index("]", prefix)
    name, _, properties = line[prefix:end].partition(" ")
    assert name == "task.logissue"

    def unescape(text: str) -> str:
        for token, escaped in ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D")):
            text = text.replace(escaped, token)
        return text.replace("%AZP25", "%")

    pairs = (item.split("=", 1) for item in properties.split(";") if item)
    return {key: unescape(value) for key, value in pairs}, unescape(line[end + 1 :])


def test_azure_logging_commands_escape_what_the_agent_reads(run_cli: RunCli, project: Path) -> None:
    folder = project / "odd;dir]100%"
    folder.mkdir()
    seed = SEEDS[0].read_text(encoding="utf-8")
    url = 'webUrl: "https://example.org/a;b]100%\\nnext"'  # a YAML escape: the message holds a real newline
    for name in ("a.md", "b.md"):
        (folder / name).write_text(re.sub("^webUrl: .*$", lambda _: url, seed, count=1, flags=re.M), encoding="utf-8")
    lines = _report(run_cli, "azure", folder.name).splitlines()
    expected = _expected(run_cli, folder.name)
    assert len(lines) == len(expected)  # the newline did not start a line of its own
    assert any("\n" in f["message"] and ";" in f["message"] and "]" in f["message"] for _, f in expected)
    for line, (level, finding) in zip(lines, expected, strict=True):
        assert line.startswith("##vso[task.logissue ")
        properties, message = _agent_parse(line)
        assert message == _text(finding)
        assert properties["type"] == level
        assert properties["sourcepath"] == str((project / finding["file"]).resolve())
        assert properties["code"] == finding["keyword"]
        assert (int(properties["linenumber"]), int(properties["columnnumber"])) == (finding["line"], finding["column"])


def test_azure_names_no_source_for_stdin(run_cli: RunCli) -> None:
    lines = _report(run_cli, "azure", "-", input=b"---\ntitle: x\n---\n").splitlines()
    assert lines
    assert all("sourcepath=" not in line and line.startswith("##vso[task.logissue type=error;") for line in lines)


def test_the_new_formats_are_registered() -> None:
    assert set(NEW_FORMATS) <= set(REPORTERS)


def test_a_text_report_in_a_file_keeps_the_summary_in_the_log_too(run_cli: RunCli, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    result = run_cli("validate", str(CASES / "invalid" / "typo-key.md"), "--output-file", str(report))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("1 file checked: 0 valid, 1 invalid; 2 errors")
    assert report.read_text(encoding="utf-8").splitlines()[-1].startswith("1 file checked")
