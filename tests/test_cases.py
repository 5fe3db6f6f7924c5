"""Golden cases: each document in tests/cases/ beside its expected (pointer, keyword, line) list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CASES, SEEDS

from converters.check import CheckOptions, check_bytes
from converters.limits import Limits
from converters.schema import load_schema
from converters.validate import ArticleValidator

CASE_FILES = sorted(CASES.glob("*/*.md"))


@pytest.fixture(scope="module")
def validator() -> ArticleValidator:
    return ArticleValidator(load_schema())


def _expected(path: Path) -> dict[str, list[list[object]]]:
    data: dict[str, list[list[object]]] = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case_gives_expected_findings(path: Path, validator: ArticleValidator) -> None:
    expected = _expected(path)
    limits = Limits(**expected.get("limits", {}))  # type: ignore[arg-type]
    result = check_bytes(path.name, path.read_bytes(), validator, CheckOptions(limits=limits))

    assert [[f.pointer, f.keyword, f.line] for f in result.errors] == expected["errors"]
    assert [[f.pointer, f.keyword, f.line] for f in result.warnings] == expected.get("warnings", [])
    assert result.valid == (path.parent.name == "valid")
    for finding in result.errors + result.warnings:
        assert finding.message
        assert "\n" not in finding.message
        assert len(finding.message) <= 300


def test_every_case_has_an_expectation() -> None:
    assert len(CASE_FILES) >= 40
    for path in CASE_FILES:
        assert path.with_suffix(".expected.json").is_file(), path


def test_invalid_cases_all_locate_their_error_on_a_line() -> None:
    """Every bad input names a line, except those with no line to name."""
    lineless = {"empty.md", "whitespace-only.md", "size-limit.md"}
    for path in sorted((CASES / "invalid").glob("*.md")):
        errors = _expected(path)["errors"]
        assert errors, path
        if path.name not in lineless:
            assert all(isinstance(line, int) and line >= 1 for _, _, line in errors), path


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_seeds_validate_clean(seed: Path, validator: ArticleValidator) -> None:
    result = check_bytes(seed.name, seed.read_bytes(), validator, CheckOptions())
    assert result.errors == []
    assert result.warnings == []
