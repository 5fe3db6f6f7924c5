"""Project configuration: found as ruff finds its own, overridden by the command line, and checked by key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, SEEDS, RunProcess


def _project(root: Path, config: str, name: str = "pyproject.toml") -> Path:
    """A project with two valid articles, README.md, a YAML config, and the given configuration file."""
    (root / "articles" / "drafts").mkdir(parents=True)
    for seed in SEEDS:
        shutil.copy(seed, root / "articles" / seed.name)
    (root / "articles" / "drafts" / "wip.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    (root / "README.md").write_text("# A project\n", encoding="utf-8")
    (root / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    (root / name).write_text(config, encoding="utf-8")
    return root


EXCLUDING = '[tool.articles]\nexclude = ["README.md", "*.yml", "drafts"]\n'


def test_the_configuration_is_found_from_a_subfolder_and_the_command_line_overrides_it(
    run_process: RunProcess, tmp_path: Path
) -> None:
    project = _project(tmp_path, EXCLUDING + 'max-file-size = "100"\n')
    too_small = run_process("validate", ".", cwd=project / "articles")
    assert too_small.returncode == 1
    assert "[size]" in too_small.stdout
    result = run_process("validate", ".", "--max-file-size", "1MiB", cwd=project / "articles")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 files checked: 2 valid" in result.stdout  # drafts/ left out by the file, README and YAML too
    everything = run_process("validate", ".", "--isolated", cwd=project)
    assert everything.returncode == 1
    assert "README.md:1:1" in everything.stdout


def test_articles_toml_comes_before_pyproject_and_config_names_one(run_process: RunProcess, tmp_path: Path) -> None:
    project = _project(tmp_path, '[tool.articles]\nexclude = ["nothing"]\n')
    (project / "articles.toml").write_text('exclude = ["README.md", "*.yml", "drafts"]\n', encoding="utf-8")
    assert run_process("validate", ".", cwd=project).returncode == 0
    other = tmp_path / "elsewhere.toml"
    other.write_text('exclude = ["*.yml"]\n', encoding="utf-8")
    named = run_process("validate", ".", "--config", str(other), cwd=project)
    assert named.returncode == 1  # README.md and drafts/ are read again
    assert "README.md:1:1" in named.stdout


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[tool.articles]\nschema = "s.json"\nexlude = ["x"]\n',
            "articles: error: pyproject.toml:3: 'exlude' is not a setting (did you mean 'exclude'?)",
        ),
        ('[tool.articles]\n\nexclude = "drafts"\n', "pyproject.toml:3: 'exclude' must be a list of strings"),
        ("[tool.articles]\nstrict = 1\n", "pyproject.toml:2: 'strict' must be true or false, not 1"),
        ("[tool.articles.validate]\njobs = 0\n", "pyproject.toml:2: 'jobs': 0 is not in the range"),
        (
            "[tool.articles.export]\ncompression = 'zstd'\n[tool.articles.validate]\nto = 'csv'\n",
            "pyproject.toml:4: 'to'",
        ),
        ("[tool.articles]\nmax-file-size = '1X'\n", "pyproject.toml:2: 'max-file-size': '1X' is not a size"),
        ("[tool.articles]\nvalidate = 3\n", "pyproject.toml:2: 'validate' must be a table"),
        ("[tool.articles\n", "pyproject.toml: not valid TOML"),
    ],
    ids=[
        "unknown-key",
        "wrong-type",
        "not-a-bool",
        "out-of-range",
        "not-an-option-here",
        "bad-size",
        "table",
        "toml",
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_the_file_the_key_and_its_line(
    run_process: RunProcess, tmp_path: Path, config: str, message: str
) -> None:
    project = _project(tmp_path, config)
    result = run_process("validate", ".", cwd=project)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_export_defaults_and_a_schema_relative_to_the_file(run_process: RunProcess, tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        EXCLUDING + 'schema = "schemas/article.json"\n\n[tool.articles.export]\ncompression = "snappy"\n',
    )
    (project / "schemas").mkdir()
    shutil.copy(REPO / "schemas" / "article.schema.json", project / "schemas" / "article.json")
    result = run_process("export", ".", "-o", str(tmp_path / "out.parquet"), cwd=project / "articles")
    assert result.returncode == 0, result.stderr
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0).column(0).compression == "SNAPPY"
    again = run_process("export", "articles", "-o", str(tmp_path / "out.parquet"), "--compression", "gzip", cwd=project)
    assert again.returncode == 0, again.stderr
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0).column(0).compression == "GZIP"


def test_a_choice_the_option_refuses_names_the_file_too(run_process: RunProcess, tmp_path: Path) -> None:
    project = _project(tmp_path, "[tool.articles.export]\ncompression = 'zip'\n")
    result = run_process("export", ".", "-o", str(tmp_path / "out.parquet"), cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith("articles: error: pyproject.toml:2: 'compression': 'zip' is not one of: zstd")


def test_strict_from_the_configuration_fails_on_warnings(run_process: RunProcess, tmp_path: Path) -> None:
    project = _project(tmp_path, EXCLUDING + "strict = true\n")
    warned = REPO / "tests" / "cases" / "valid" / "yaml11-scalars-warn.md"
    assert run_process("validate", str(warned), cwd=project).returncode == 1
    assert run_process("validate", str(warned), "--no-strict", cwd=project).returncode == 0


def test_this_repository_validates_itself_with_its_own_configuration(run_process: RunProcess) -> None:
    result = run_process("validate", ".", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 invalid" in result.stdout


def test_the_pre_commit_hook_checks_articles_and_not_readme_or_yaml_configs(
    run_process: RunProcess, tmp_path: Path
) -> None:
    """As pre-commit runs the hook: the files its `files` pattern selects, given by name."""
    project = _project(tmp_path, EXCLUDING)
    (project / "docs").mkdir()
    (project / "docs" / "guide.md").write_text("# Guide\n", encoding="utf-8")
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    tracked = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    selected = [name for name in tracked if re.search(hook["files"], name)]
    assert selected == [
        "articles/000_b58147937c3d9dcd.txt",
        "articles/001_d98dec602c2f891e.txt",
        "articles/drafts/wip.md",
    ]
    entry = hook["entry"].split()
    assert entry[:2] == ["articles", "validate"]
    result = run_process(*entry[1:], *selected, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr  # drafts/ left out by the project's configuration
    assert "2 files checked: 2 valid" in result.stdout
