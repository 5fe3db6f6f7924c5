"""The README tells the truth: its examples are real output, and every option is documented."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
import typer.main
from conftest import REPO, RunCli

from converters.cli import app
from converters.report import REPORTERS

README = (REPO / "README.md").read_text(encoding="utf-8")
CONSOLE_BLOCKS = re.findall(r"```console\n\$ (articles [^\n]+)\n(.*?)```", README, re.DOTALL)
_TIMING = re.compile(r'( in [0-9.]+ s$| time="[0-9.]+")', re.MULTILINE)


def _options() -> list[str]:
    root = typer.main.get_command(app)
    options: list[str] = []
    for command in [root, *getattr(root, "commands", {}).values()]:
        for param in command.params:
            options.extend(o for o in param.opts + param.secondary_opts if o.startswith("--") and o != "--help")
    return options


@pytest.mark.parametrize("option", _options())
def test_every_option_is_documented(option: str) -> None:
    assert f"`{option}" in README or f"{option}`" in README or f"/ `{option}" in README


@pytest.mark.parametrize("report_format", list(REPORTERS))
def test_every_report_format_is_documented(report_format: str) -> None:
    assert f"**`{report_format}`**" in README


def test_exit_codes_are_documented() -> None:
    for code in ("0", "1", "2", "130"):
        assert f"\n| {code} |" in README


@pytest.mark.parametrize(("command", "shown"), CONSOLE_BLOCKS, ids=[c for c, _ in CONSOLE_BLOCKS])
def test_readme_examples_are_real_output(run_cli: RunCli, command: str, shown: str) -> None:
    cwd = os.getcwd()
    os.chdir(REPO)  # the examples use paths relative to the repository
    try:
        result = run_cli(*shlex.split(command)[1:])
    finally:
        os.chdir(cwd)
    produced = result.stdout.replace("\r\n", "\n")  # CSV's CRLF, shown as plain lines
    assert _TIMING.sub("", produced) == _TIMING.sub("", shown)


def test_quick_start_has_exactly_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert quick_start.count("```sh") == 2


def test_ci_runs_the_readme_test_command() -> None:
    assert "test-command" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert Path(REPO / ".pre-commit-hooks.yaml").is_file()


def test_readme_parquet_schema_is_what_the_export_writes(run_cli: RunCli, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    shown = README.split("<!-- parquet-schema", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    out = tmp_path / "articles.parquet"
    assert run_cli("export", str(REPO / "examples"), "-o", str(out)).exit_code == 0
    schema = pq.read_schema(out).to_string(show_field_metadata=False, show_schema_metadata=False)
    assert schema + "\n" == shown


def test_every_test_the_reliability_section_cites_exists() -> None:
    section = README.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    cited = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    assert len(cited) >= 15
    for path, name in cited:
        assert f"def {name}(" in (REPO / path).read_text(encoding="utf-8"), f"{path}::{name} does not exist"


def test_the_readme_load_example_runs_twice_with_the_same_row_count(run_cli: RunCli, tmp_path: Path) -> None:
    import duckdb

    block = README.split("<!-- load-example", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line) for line in block.splitlines() if line.startswith("articles load")]
    assert len(commands) == 2
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        outputs = [run_cli(*command[1:]) for command in commands]
    finally:
        os.chdir(cwd)
    assert [o.exit_code for o in outputs] == [0, 0]
    shown = README.split("<!-- load-example", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert _TIMING.sub("", "".join(o.stderr for o in outputs)) == _TIMING.sub("", shown)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        assert connection.execute("SELECT count(*) FROM articles").fetchone() == (2,)


def test_the_license_file_is_the_one_pyproject_names() -> None:
    assert 'license = "MIT"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
