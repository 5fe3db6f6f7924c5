"""Shared fixtures: paths to the bundled data, and ways to run the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from converters.cli import app

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CASES = REPO / "tests" / "cases"
SCHEMA_FILE = REPO / "schemas" / "article.schema.json"
SEEDS = sorted(EXAMPLES.glob("*.txt"))

RunCli = Callable[..., Result]
RunProcess = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli() -> RunCli:
    """Run `articles ARGS...` in-process; stdout and stderr stay apart."""

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def run_process() -> RunProcess:
    """Run the installed `articles` console script in a real subprocess."""
    script = shutil.which("articles", path=os.path.dirname(sys.executable)) or shutil.which("articles")
    assert script is not None, "the articles console script is not installed"

    def run(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args], cwd=cwd, input=input, capture_output=True, text=True, timeout=300, check=False
        )

    return run


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the seed articles."""
    target = tmp_path / "corpus"
    target.mkdir()
    for seed in SEEDS:
        shutil.copy(seed, target / seed.name)
    return target
