"""What a run over one file imports: most of its 0.1 to 0.2 s is start-up, and most of that is imports.

The heavy packages come in only when a file needs them: jsonschema to word
a schema error, PyYAML to read a file the fast reader hands back, pyarrow
for Parquet, multiprocessing for a corpus worth the workers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CASES, SEEDS

HEAVY = frozenset({"jsonschema", "yaml", "pyarrow", "multiprocessing", "concurrent", "xml", "ssl"})

_RUN = """
import json, sys
from converters.cli import main
sys.argv = ["articles", *sys.argv[1:]]
try:
    main()
except SystemExit as end:
    code = end.code
loaded = {name.split(".")[0] for name, module in sys.modules.items() if module is not None}
print(json.dumps([code, sorted(loaded)]), file=sys.__stdout__)
"""


def _imported_by(*args: str) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120, check=False)
    code, modules = json.loads(done.stdout.splitlines()[-1])
    return code, set(modules)


def test_validating_a_valid_file_imports_none_of_the_heavy_packages() -> None:
    code, modules = _imported_by("validate", "--no-progress", str(SEEDS[0]))
    assert code == 0
    assert not modules & HEAVY


@pytest.mark.parametrize(
    ("case", "needed"),
    [("date-past-9999-in-utc.md", "jsonschema"), ("custom-tag.md", "yaml")],
)
def test_a_file_that_needs_a_heavy_package_still_gets_it(case: str, needed: str) -> None:
    code, modules = _imported_by("validate", "--no-progress", str(CASES / "invalid" / case))
    assert code == 1
    assert needed in modules


def test_the_junit_report_imports_its_xml_escaping_only_when_chosen() -> None:
    _, plain = _imported_by("validate", "--no-progress", "--format", "text", str(SEEDS[0]))
    _, junit = _imported_by("validate", "--no-progress", "--format", "junit", str(SEEDS[0]))
    assert "xml" not in plain
    assert "xml" in junit


def test_an_export_to_parquet_never_imports_pandas(tmp_path: Path) -> None:
    # pyarrow would, when it is installed (as here): 0.2 s of every export, and of every worker.
    pytest.importorskip("pandas")
    code, modules = _imported_by("export", "--no-progress", str(SEEDS[0]), "-o", str(tmp_path / "out.parquet"))
    assert code == 0
    assert "pyarrow" in modules
    assert "pandas" not in modules


_INTERRUPTED_WHILE_STARTING = """
import os, signal, sys

when = sys.argv[1]

class Interrupts:
    # Stands in for a Ctrl-C or a SIGTERM that comes while the command's modules load.
    def find_spec(self, name, path=None, target=None):
        if name == "converters.cli":
            if when == "term":
                os.kill(os.getpid(), signal.SIGTERM)
            raise KeyboardInterrupt

if when in ("int", "term"):
    sys.meta_path.insert(0, Interrupts())
else:
    import converters.cli, converters.command

    def app():
        if when == "building":  # while typer builds the commands from their signatures
            raise KeyboardInterrupt
        if when == "said":  # a command caught it, and said so
            converters.command.say_interrupted("; nothing was written")
        raise SystemExit(130)  # typer's own answer to an interrupt while it parses the arguments: silent

    converters.cli.app = app
from converters.command import main
main()
"""


@pytest.mark.parametrize(
    ("when", "line"),
    [
        ("int", "articles: interrupted"),
        ("term", "articles: interrupted"),
        ("building", "articles: interrupted"),
        ("parsing", "articles: interrupted"),
        ("said", "articles: interrupted; nothing was written"),
    ],
)
def test_an_interrupt_while_the_command_starts_is_one_line_and_exit_130(when: str, line: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_WHILE_STARTING, when],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr, done.stdout) == (130, line + "\n", "")


def test_the_console_script_is_the_command_that_loads_interruptibly() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["articles"] == "converters.command:main"
