"""--strict: a warning is an error, for validate, export and load alike, from the command line or the configuration."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from conftest import CASES, SEEDS, RunCli, RunProcess

WARNED = CASES / "valid" / "yaml11-scalars-warn.md"  # valid, with three yaml11 warnings
CLEAN = SEEDS[0]


def test_validate_reports_warnings_as_errors_and_the_file_as_invalid(run_cli: RunCli) -> None:
    lenient = run_cli("validate", str(WARNED), "-f", "json")
    strict = run_cli("validate", str(WARNED), "-f", "json", "--strict")
    assert lenient.exit_code == 0
    assert strict.exit_code == 1
    before, after = json.loads(lenient.stdout), json.loads(strict.stdout)
    assert (before["invalid"], after["invalid"]) == (0, 1)
    assert after["warnings"] == []
    assert [e["keyword"] for e in after["errors"]] == [w["keyword"] for w in before["warnings"]] == ["yaml11"] * 3
    assert "warning:" not in run_cli("validate", str(WARNED), "--strict").stdout


def test_a_strict_export_writes_nothing_when_a_file_has_a_warning(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert run_cli("export", str(WARNED), str(CLEAN), "-o", str(out), "--strict").exit_code == 1
    assert not out.exists()
    assert run_cli("export", str(WARNED), str(CLEAN), "-o", str(out)).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_a_strict_export_with_skip_rejects_the_warned_file(run_cli: RunCli, tmp_path: Path) -> None:
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    result = run_cli(
        "export", str(WARNED), str(CLEAN), "-o", str(out), "--strict", "--on-invalid", "skip", "--rejects", str(rejects)
    )
    assert result.exit_code == 0, result.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
    (rejected,) = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert rejected["file"] == str(WARNED)
    assert {e["keyword"] for e in rejected["errors"]} == {"yaml11"}
    assert rejected["raw"] == WARNED.read_text(encoding="utf-8")


def test_a_strict_load_leaves_the_table_as_it_was(run_cli: RunCli, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    assert run_cli("load", str(CLEAN), "--into", str(warehouse)).exit_code == 0
    assert run_cli("load", str(WARNED), "--into", str(warehouse), "--strict").exit_code == 1
    with duckdb.connect(str(warehouse)) as connection:
        assert connection.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_strict_in_the_configuration_holds_for_export_too(run_process: RunProcess, tmp_path: Path) -> None:
    (tmp_path / "articles.toml").write_text("strict = true\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_process("export", str(WARNED), "-o", str(out), cwd=tmp_path).returncode == 1
    assert run_process("export", str(WARNED), "-o", str(out), "--no-strict", cwd=tmp_path).returncode == 0
