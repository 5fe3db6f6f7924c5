"""Shared fixtures: paths to the bundled data, and ways to run the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from converters.cli import app

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CASES = REPO / "tests" / "cases"
SCHEMA_FILE = REPO / "schemas" / "article.schema.json"
SEEDS = sorted(EXAMPLES.glob("*.txt"))

# Real servers: an S3-compatible one and a bucket per test (`s3_endpoint`, `bucket`), a Dask cluster (`dask_cluster`).
pytest_plugins = ["s3_server", "dask_cluster", "load_targets"]

RunCli = Callable[..., Result]
RunProcess = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli() -> RunCli:
    """Run `articles ARGS...` in-process; stdout and stderr stay apart."""

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("ARTICLES_TEST_POSTGRES")
    required = os.environ.get("ARTICLES_REQUIRE_POSTGRES") == "1"
    if not url:
        if required:
            pytest.fail("ARTICLES_REQUIRE_POSTGRES is set but ARTICLES_TEST_POSTGRES is not")
        pytest.skip("no PostgreSQL server: set ARTICLES_TEST_POSTGRES=postgresql://... to run these tests")
    psycopg = pytest.importorskip("psycopg") if not required else __import__("psycopg")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as error:
        if required:
            pytest.fail(f"PostgreSQL at {url} is not reachable: {error}")
        pytest.skip(f"PostgreSQL at {url} is not reachable: {error}")
    return url


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A PySpark session in local mode, UTC, whose Python workers run this environment's Python."""
    if shutil.which("java") is None:
        pytest.skip("PySpark needs Java (17 or later), and there is no java on PATH")
    sql = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the executors' Python must have articles installed
    session = (
        sql.SparkSession.builder.master("local[2]")
        .appName("articles-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture
def run_process() -> RunProcess:
    """Run the installed `articles` console script in a real subprocess."""
    script = articles_script()

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


GOLDEN_CORPUS = REPO / "tests" / "golden" / "corpus"


def exported_golden_corpus(out: Path, *options: str) -> Path:
    """`articles export tests/golden/corpus -o OUT OPTIONS...`, which must succeed; -> OUT."""
    result = CliRunner().invoke(app, ["export", str(GOLDEN_CORPUS), "-o", str(out), *options])
    assert result.exit_code == 0, result.stderr
    return out


def many_articles(root: Path, files: int, host: str = "n") -> None:
    """`files` valid articles under `root`, 500 to a folder, each with its own webUrl."""
    seed = SEEDS[1].read_text(encoding="utf-8")
    for n in range(files):
        folder = root / f"{n // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        text = seed.replace('webUrl: "https://', f'webUrl: "https://{host}{n}.', 1)
        (folder / f"{n:06d}.md").write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes: the largest of the process and every worker it started


def articles_script() -> str:
    script = shutil.which("articles", path=os.path.dirname(sys.executable)) or shutil.which("articles")
    assert script is not None, "the articles console script is not installed"
    return script


# Started from a small launcher, because Linux counts the memory a process had before exec
# in its peak RSS: a child forked straight from a large pytest worker would report the worker's size.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(*args: str, cwd: Path | None = None, timeout: float = 120) -> Measured:
    """Run `articles ARGS...`, and measure its wall time and peak RSS (the largest of it and its workers)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as folder:
        report = os.path.join(folder, "maxrss")
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, report, articles_script(), *args],
            stdout=out,
            stderr=err,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError(f"articles {' '.join(args)} took over {timeout} s") from None
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Measured(
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            int(Path(report).read_text(encoding="utf-8")) * 1024,
        )


NOBODY = 65534


def unprivileged(function: Callable[[], Any]) -> Any:
    """Call `function` in a forked child that runs as an unprivileged user, and return its JSON result.

    Permission tests mean nothing as root, who reads and writes everything, and
    CI runs as root. The child is forked, not started afresh, because an
    unprivileged user may not be able to reach the interpreter; so import
    whatever `function` needs before calling this.
    """
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reading)
        code = 0
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            payload = json.dumps({"result": function()})
        except BaseException as error:  # everything goes back to the parent, which fails the test
            payload, code = json.dumps({"error": repr(error)}), 1
        with os.fdopen(writing, "w") as stream:
            stream.write(payload)
        os._exit(code)
    os.close(writing)
    with os.fdopen(reading) as stream:
        answer = json.loads(stream.read() or '{"error": "no answer"}')
    os.waitpid(child, 0)
    assert "error" not in answer, answer["error"]
    return answer["result"]


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A fresh directory an unprivileged child can reach (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="articles-test-"))
    path.chmod(0o777)
    yield path
    for folder, _, _ in os.walk(path):
        os.chmod(folder, 0o777)  # so that the locked folders a test made can be removed
    shutil.rmtree(path)


@pytest.fixture(autouse=True)
def _cache_of_its_own(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a cache folder of its own: none sees another's entries, or writes into the checkout."""
    monkeypatch.setenv("ARTICLES_CACHE_DIR", str(tmp_path_factory.mktemp("cache") / ".articles_cache"))
