"""The docs tell the truth: every example runs as shown, and the command reference is the real --help.

Each page's examples run in order, in a workspace of their own that holds copies of the files they
name (`examples/`, `corpus/`, the test cases), unless the marker before a block says `not run: WHY`:
- a `console` block is one `$ articles ...` or `$ python ...` command and what a terminal shows
  (stdout, then stderr; timings aside), with exit code 0 unless the marker says `exit: N`;
- an `sh` or `python` block must succeed (`pip install` lines aside);
- a `toml` block is a configuration file that `validate` and `export` must accept.
A `postgresql://` URL in an example is the test server's, and an `s3://` bucket is on the test S3 server.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, articles_script
from docs_pages import Block, blocks, command_options, help_text, pages
from s3_server import CREDENTIALS, Bucket
from typer.testing import CliRunner

from converters.cli import app
from converters.report import REPORTERS
from converters.writers import WRITERS

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
COMMAND_PAGES = {"validate": DOCS / "validate.md", "export": DOCS / "export.md", "load": DOCS / "load.md"}
COMMAND_PAGES["schema"] = DOCS / "schema.md"
COMMAND_PAGES["cache info"] = COMMAND_PAGES["cache clean"] = DOCS / "cache.md"
_TIMING = re.compile(r'( in [0-9.]+ s$| time="[0-9.]+")', re.M)
_WORKSPACE_FILES = ("examples", "tests/cases", "tests/golden/corpus", "schemas")


def _page_id(page: Path) -> str:
    return str(page.relative_to(REPO))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder holding copies of what the examples name, as the current directory, where the cache is too."""
    monkeypatch.delenv("ARTICLES_CACHE_DIR", raising=False)
    for relative in _WORKSPACE_FILES:
        shutil.copytree(REPO / relative, tmp_path / relative)
    shutil.copytree(REPO / "examples", tmp_path / "corpus")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def _run_console(block: Block, workspace: Path) -> None:
    command, *shown = block.body.splitlines(keepends=True)
    assert command.startswith(("$ articles ", "$ python ")), f"{block.name}: a console block shows one command"
    expected_exit = int(block.marker.removeprefix("exit: ")) if block.marker.startswith("exit: ") else 0
    if command.startswith("$ articles "):
        result = CliRunner().invoke(app, shlex.split(command[2:])[1:], catch_exceptions=False)
        # The summary on stderr comes last on a terminal; CSV's CRLF is shown as plain lines.
        exit_code, produced = result.exit_code, (result.stdout + result.stderr).replace("\r\n", "\n")
    else:
        done = _shell(command[2:], workspace)
        exit_code, produced = done.returncode, done.stdout + done.stderr
    assert _TIMING.sub("", produced) == _TIMING.sub("", "".join(shown)), block.name
    assert exit_code == expected_exit, f"{block.name}: exit {exit_code}"


def _run_shell(block: Block, workspace: Path, request: pytest.FixtureRequest) -> None:
    script = "\n".join(line for line in block.body.splitlines() if not line.lstrip().startswith("pip install"))
    if "postgresql://" in script:  # the example's server is the test server
        script = re.sub(r"postgresql://\S+", request.getfixturevalue("postgres_url"), script)
    done = _shell(script, workspace)
    assert done.returncode == 0, f"{block.name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def _run_python(block: Block, workspace: Path) -> None:
    done = _shell(f"python - <<'EXAMPLE'\n{block.body}EXAMPLE", workspace)
    assert done.returncode == 0, f"{block.name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def _run_with_configuration(block: Block, workspace: Path) -> None:
    """A configuration example is taken as it stands by validate and export alike."""
    name = "pyproject.toml" if block.body.startswith("[tool.articles") else "articles.toml"
    (workspace / name).write_text(block.body, encoding="utf-8")
    try:
        for command in ("articles validate examples/", "articles export examples/ -o configured.parquet --overwrite"):
            done = _shell(command, workspace)
            assert done.returncode == 0, f"{block.name}: {command}: exit {done.returncode}\n{done.stderr}"
    finally:
        (workspace / name).unlink()


def _shell(script: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    """`bash -e` in the workspace, finding `articles` and `python` in the test environment.

    TZ is UTC because DuckDB shows a TIMESTAMP WITH TIME ZONE in the local zone.
    """
    path = os.pathsep.join([os.path.dirname(articles_script()), os.path.dirname(sys.executable), os.environ["PATH"]])
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=workspace,
        env={**os.environ, "PATH": path, "NO_COLOR": "1", "TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _serve_buckets(page: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The buckets a page names, on the test S3 server, each with `examples/` under `corpus/`."""
    names = sorted(set(re.findall(r"s3://([a-z0-9][a-z0-9.-]+)/", page.read_text(encoding="utf-8"))))
    if not names:
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    for name in names:
        bucket = Bucket(endpoint, name)
        bucket.upload_folder(REPO / "examples", "corpus/")


@pytest.mark.parametrize("page", pages(), ids=_page_id)
def test_every_example_runs_as_shown(
    page: Path, workspace: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_buckets(page, request, monkeypatch)
    for block in blocks(page):
        if block.lang == "console":
            _run_console(block, workspace)
        elif block.marker.startswith(("not run: ", "test-command")):
            continue
        elif block.lang == "sh":
            _run_shell(block, workspace, request)
        elif block.lang == "python":
            _run_python(block, workspace)
        elif block.lang == "toml":
            _run_with_configuration(block, workspace)


@pytest.mark.parametrize("page", pages(), ids=_page_id)
def test_help_blocks_are_the_real_help(page: Path) -> None:
    for block in blocks(page):
        if block.marker.startswith("help: "):
            shown = block.marker.removeprefix("help: ")
            assert block.body == help_text(shown), f"{shown} changed: run `python tests/docs_pages.py`"


def test_every_command_has_its_reference_page() -> None:
    quoted = {b.marker for page in pages() for b in blocks(page)}
    for command in command_options():
        assert f"help: {' '.join(['articles', command, '--help'])}".replace("  ", " ") in quoted, command
    assert set(COMMAND_PAGES) == set(command_options()) - {""}


@pytest.mark.parametrize("command", list(COMMAND_PAGES))
def test_each_option_table_lists_exactly_the_commands_options(command: str) -> None:
    table = COMMAND_PAGES[command].read_text(encoding="utf-8").split("## Options\n", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| (.+?) \|", table, re.M)
    documented = {o for cell in first_cells for o in re.findall(r"`(-[\w-]+)", cell)}
    assert documented == command_options()[command]


@pytest.mark.parametrize("command", list(COMMAND_PAGES))
def test_each_command_page_has_its_exit_codes(command: str) -> None:
    text = COMMAND_PAGES[command].read_text(encoding="utf-8")
    exit_codes = text.split("## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    no_invalid_data = ("schema", "cache info", "cache clean")  # commands that read no articles
    assert re.findall(r"^\| (\d+) \|", exit_codes, re.M)[:2] == ["0", "1"] or command in no_invalid_data
    assert "\n| 2 |" in exit_codes


@pytest.mark.parametrize("report_format", list(REPORTERS))
def test_every_report_format_is_documented(report_format: str) -> None:
    assert f"\n## `{report_format}`" in (DOCS / "reports.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("data_format", list(WRITERS))
def test_every_export_format_is_documented(data_format: str) -> None:
    layouts = "".join(p.read_text(encoding="utf-8") for p in (DOCS / "formats").glob("*.md"))
    assert f"`--to {data_format}`" in layouts


@pytest.mark.parametrize("page", pages(), ids=_page_id)
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text):
        assert (page.parent / target).exists(), f"{_page_id(page)} links to {target}, which does not exist"


def test_every_doc_page_is_linked_from_the_index() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in DOCS.rglob("*.md"):
        if page.name != "README.md":
            assert f"({page.relative_to(DOCS)})" in index, f"docs/README.md does not link {page.name}"


def test_readme_is_a_landing_page_under_10_kb() -> None:
    assert len(README.encode("utf-8")) < 10 * 1024
    assert "(docs/README.md)" in README


def test_quick_start_has_exactly_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert quick_start.count("```sh") == 2


def test_ci_runs_the_readme_test_command() -> None:
    assert "test-command" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert Path(REPO / ".pre-commit-hooks.yaml").is_file()


def test_the_parquet_page_shows_the_schema_the_export_writes(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    page = (DOCS / "formats" / "parquet.md").read_text(encoding="utf-8")
    shown = page.split("<!-- parquet-schema", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    out = tmp_path / "articles.parquet"
    assert CliRunner().invoke(app, ["export", str(REPO / "examples"), "-o", str(out)]).exit_code == 0
    schema = pq.read_schema(out).to_string(show_field_metadata=False, show_schema_metadata=False)
    assert schema + "\n" == shown


def test_every_test_the_reliability_page_cites_exists() -> None:
    cited = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", (DOCS / "reliability.md").read_text(encoding="utf-8"))
    assert len(cited) >= 15
    for path, name in cited:
        assert f"def {name}(" in (REPO / path).read_text(encoding="utf-8"), f"{path}::{name} does not exist"


def test_the_license_file_is_the_one_pyproject_names() -> None:
    assert 'license = "MIT"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
