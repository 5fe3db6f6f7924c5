"""The cache of earlier runs: a warm run gives exactly what a cold one gives, and reads only what changed.

The reference is always the same command with --no-cache, run on the same
files. The racy rule's margin is shortened here (a file must be that much
older than the run that cached it before its stat alone is trusted), and the
tests wait that long after changing files, so that the stat path is taken
and not only the hash path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

import pyarrow.parquet as pq
import pytest
from conftest import CASES, SCHEMA_FILE, SEEDS, articles_script, many_articles, unprivileged
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s3_server import Bucket
from typer.testing import CliRunner

import converters.cache
import converters.check
import converters.schema
from converters.cli import app
from converters.limits import Limits

MARGIN_S = 0.03


@pytest.fixture(autouse=True)
def _short_racy_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converters.cache, "RACY_MARGIN_NS", int(MARGIN_S * 1e9))


def _settle() -> None:
    """Wait out the racy margin: files changed before now are old enough for their stat to be trusted."""
    time.sleep(MARGIN_S * 1.5)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    timing = re.compile(r" in \d+\.\d\d s")  # the one thing two runs may say differently
    return result.exit_code, timing.sub(" in _ s", result.stdout), timing.sub(" in _ s", result.stderr)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files checked (read, parsed and validated) in this process, in order."""
    checked: list[str] = []
    real = converters.check.check_bytes

    def counting(name: str, *args: Any) -> Any:
        checked.append(Path(name).name)
        return real(name, *args)

    monkeypatch.setattr(converters.check, "check_bytes", counting)
    return checked


def _corpus(root: Path, files: int = 4) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        text = SEEDS[n % 2].read_text(encoding="utf-8").replace('webUrl: "https://', f'webUrl: "https://c{n}.', 1)
        (root / f"{n:03d}.md").write_text(text, encoding="utf-8")
    return root


# -- what is reused ------------------------------------------------------------


def test_a_second_run_checks_only_what_changed_and_reports_the_same(tmp_path: Path, checks: list[str]) -> None:
    corpus = _corpus(tmp_path / "corpus")
    cache = str(tmp_path / "cache")
    first = _run("validate", str(corpus), "--cache-dir", cache, "-f", "json")
    assert sorted(checks) == ["000.md", "001.md", "002.md", "003.md"]
    _settle()
    checks.clear()
    assert _run("validate", str(corpus), "--cache-dir", cache, "-f", "json") == first
    assert checks == []  # nothing read: every stat tuple is as cached

    edited = corpus / "001.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("title:", "title: x", 1), encoding="utf-8")
    os.utime(corpus / "002.md")  # touched: the same bytes, so a hash and no check
    (corpus / "004.md").write_bytes((corpus / "000.md").read_bytes())  # a new file, and a duplicate webUrl
    _settle()
    checks.clear()
    warm = _run("validate", str(corpus), "--cache-dir", cache, "-f", "json")
    assert sorted(checks) == ["001.md", "004.md"]
    assert warm == _run("validate", str(corpus), "--no-cache", "-f", "json")
    assert warm[0] == 1
    assert "is also used by" in warm[1]


def test_invalid_files_and_files_with_warnings_are_always_checked_again(tmp_path: Path, checks: list[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for case in ("valid/yaml11-scalars-warn.md", "invalid/impossible-date.md"):
        shutil.copy(CASES / case, corpus / Path(case).name)
    cache = str(tmp_path / "cache")
    first = _run("validate", str(corpus), "--cache-dir", cache)
    _settle()
    checks.clear()
    assert _run("validate", str(corpus), "--cache-dir", cache) == first
    assert len(checks) == 2


def test_an_export_takes_unchanged_records_from_the_cache(tmp_path: Path, checks: list[str]) -> None:
    corpus = _corpus(tmp_path / "corpus")
    cache = str(tmp_path / "cache")
    _run("validate", str(corpus), "--cache-dir", cache)  # verdicts only: an export still reads each file once
    _settle()
    checks.clear()
    assert _run("export", str(corpus), "-o", str(tmp_path / "a.jsonl"), "--cache-dir", cache)[0] == 0
    assert len(checks) == 4
    _settle()
    checks.clear()
    assert _run("export", str(corpus), "-o", str(tmp_path / "b.jsonl"), "--cache-dir", cache)[0] == 0
    assert checks == []
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


EXPORTS = {
    "json": ["--indent", "2"],
    "jsonl": [],
    "csv": ["--escape-formulas"],
    "parquet": ["--row-group-size", "3"],
    "rss": ["--title", "T", "--build-date", "2024-01-01T00:00:00Z"],
}


@pytest.mark.parametrize("format_name", sorted(EXPORTS))
def test_every_format_is_byte_identical_from_a_warm_cache(tmp_path: Path, format_name: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CASES / "valid", corpus)
    for seed in SEEDS:
        shutil.copy(seed, corpus / seed.name)
    cache = str(tmp_path / "cache")
    options = ["--to", format_name, *EXPORTS[format_name], "--on-invalid", "skip"]

    def export(name: str, *more: str) -> tuple[int, str, str, bytes, bytes]:
        out, rejects = tmp_path / f"{name}.out", tmp_path / f"{name}.rejects"
        code, stdout, stderr = _run("export", str(corpus), "-o", str(out), "--rejects", str(rejects), *options, *more)
        stderr = stderr.replace(str(out), "OUT")
        return code, stdout, stderr, out.read_bytes(), rejects.read_bytes()

    cold = export("cold", "--no-cache")
    export("fill", "--cache-dir", cache)
    _settle()
    assert export("warm", "--cache-dir", cache) == cold
    if format_name == "parquet":  # the bytes say it already; this says what they hold
        assert pq.read_table(tmp_path / "warm.out").num_rows > 0


def test_records_come_back_exactly_as_they_went_in() -> None:
    records: list[dict[str, Any]] = [
        {"a": 1, "b": 1.0, "c": True, "d": None, "e": [1, "x", {"f": -0.0}]},
        {"big": 2**80, "nan": float("nan"), "inf": float("-inf"), "text": "caf\u00e9 \u2028 \U0001f600"},
        {"lone": "\udcff", "keys": {"z": 1, "a": 2}},
    ]
    for record in records:
        packed = converters.cache.pack_record(record)
        assert packed is not None
        back = converters.cache.unpack_record(packed)
        assert repr(back) == repr(record)  # repr tells 1 from 1.0 and True, and shows key order
    assert converters.cache.pack_record({1: "not a string key"}) is None  # type: ignore[dict-item]


# -- the differential test -------------------------------------------------------
# Random sequences of changes to a small corpus, each followed by a warm and a cold run of
# validate and export, which must say and write the same.

_POOL = [
    *sorted((CASES / "valid").glob("*.md")),
    *sorted((CASES / "invalid").glob("*.md"))[:12],
    *SEEDS,
]
_SLOTS = 6
_slot = st.integers(0, _SLOTS - 1)
_OPTIONS = (
    (),
    ("--strict",),
    ("--max-file-size", "2K"),
    ("--allow-duplicate-urls",),
    ("--exclude", "003.md"),
)
_STEPS = st.one_of(
    st.tuples(st.just("write"), _slot, st.integers(0, len(_POOL) - 1)),
    st.tuples(st.just("same-size"), _slot),
    st.tuples(st.just("touch"), _slot),
    st.tuples(st.just("rename"), _slot, _slot),
    st.tuples(st.just("delete"), _slot),
    st.tuples(st.just("copy"), _slot, _slot),  # the same webUrl twice, and gone again once one changes
    st.tuples(st.just("schema"), st.booleans()),
    st.tuples(st.just("options"), st.integers(0, len(_OPTIONS) - 1)),
)


class _Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "corpus"
        self.files.mkdir(parents=True)
        self.schema = root / "schema.json"
        self.schema.write_bytes(SCHEMA_FILE.read_bytes())
        self.options: tuple[str, ...] = ()
        for slot in range(3):
            (self.files / f"{slot:03d}.md").write_bytes(
                SEEDS[slot % 2].read_bytes().replace(b"https://", b"https://%d." % slot, 1)
            )

    def path(self, slot: int) -> Path:
        return self.files / f"{slot:03d}.md"

    def apply(self, step: tuple[Any, ...]) -> None:
        kind, *arguments = step
        if kind == "schema":
            self._change_schema(stricter=arguments[0])
        elif kind == "options":
            self.options = _OPTIONS[arguments[0]]
        elif kind == "write":
            self.path(arguments[0]).write_bytes(_POOL[arguments[1]].read_bytes())
        elif self.path(arguments[0]).exists() and not (kind in ("rename", "copy") and len(set(arguments)) == 1):
            self._change_file(kind, self.path(arguments[0]), arguments[1:])

    def _change_file(self, kind: str, target: Path, arguments: list[Any]) -> None:
        if kind == "same-size":
            _same_size_edit(target)
        elif kind == "touch":
            os.utime(target)
        elif kind == "rename":
            target.rename(self.path(arguments[0]))
        elif kind == "delete":
            target.unlink()
        else:
            shutil.copy(target, self.path(arguments[0]))

    def _change_schema(self, stricter: bool) -> None:
        schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
        if stricter:  # some valid files turn invalid
            schema["properties"]["title"]["maxLength"] = 40
        self.schema.write_text(json.dumps(schema), encoding="utf-8")
        # A new command reads the schema afresh; these runs share one process, which keeps it.
        converters.schema.load_schema.cache_clear()
        converters.check._checker = None

    def outcomes(self, cache: list[str]) -> list[Any]:
        common = [str(self.files), "--schema", str(self.schema), *self.options, *cache]
        out = self.root / "out.jsonl"
        outcomes: list[Any] = [_run("validate", *common, "-f", "json")]
        exported = _run("export", *common, "-o", str(out), "--overwrite", "--on-invalid", "skip",
                        "--rejects", str(self.root / "rejects.jsonl"), "--overwrite")  # fmt: skip
        outcomes.append(exported)
        outcomes.append(out.read_bytes() if out.exists() else None)
        outcomes.append((self.root / "rejects.jsonl").read_bytes() if exported[0] == 0 else None)
        return outcomes


def _same_size_edit(path: Path) -> None:
    """Change one letter, keeping the size and the mtime: only the ctime and the bytes tell."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    letters = [i for i, byte in enumerate(data) if chr(byte).isalpha() and chr(byte).isascii()]
    if not letters:
        return
    at = letters[len(letters) // 2]
    data[at] = ord("b") if data[at] != ord("b") else ord("c")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same sequences on every run: a failure here is a bug, not bad luck
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(_STEPS, min_size=1, max_size=7))
def test_warm_runs_say_and_write_what_cold_runs_do(tmp_path_factory: pytest.TempPathFactory, steps: list[Any]) -> None:
    root = tmp_path_factory.mktemp("differential")
    corpus = _Corpus(root)
    cache = ["--cache-dir", str(root / "cache")]
    corpus.outcomes(cache)
    for step in steps:
        corpus.apply(step)
        _settle()
        warm = corpus.outcomes(cache)
        assert warm == corpus.outcomes(["--no-cache"]), f"after {step}"


@given(
    parts=st.lists(st.sampled_from(["a", "b.md", ".", "..", "", ".c", "d."]), min_size=1, max_size=5),
    absolute=st.booleans(),
    here=st.sampled_from(["/base", "/base/a", "/elsewhere"]),
)
def test_a_files_key_is_that_of_its_normalised_absolute_path(parts: list[str], absolute: bool, here: str) -> None:
    """_key's shortcuts for the paths a walk makes give the key the long way gives, whatever the path."""
    path = ("/base/" if absolute else "") + "/".join(parts)
    if not path:
        return
    settings = converters.cache.CacheSettings("unused.sqlite", 0, "/base")
    long_way = settings.key_of(os.path.normpath(os.path.join(here, path)))
    assert converters.check._key(path, here, settings) == long_way


@pytest.mark.parametrize("report", ["text", "json", "junit", "sarif"])
def test_a_warm_run_of_many_chunks_reports_repeats_as_a_cold_one(tmp_path: Path, report: str) -> None:
    """Chunks whose files the cache stands in for all come back as columns (PlainFiles), not results:
    a webUrl repeated across them, or within one, is still reported, at the same lines."""
    corpus = tmp_path / "corpus"
    many_articles(corpus, 700)
    for repeat, first in (("001/000690.md", "000/000010.md"), ("001/000520.md", "001/000510.md")):
        url = _url_of(corpus / first)
        text = (corpus / repeat).read_text(encoding="utf-8")
        (corpus / repeat).write_text(text.replace(_url_of(corpus / repeat), url), encoding="utf-8")
    common = [str(corpus), "-f", report, "--jobs", "2", "--cache-dir", str(tmp_path / "cache")]

    def run(*args: str) -> tuple[int, str, str]:
        code, stdout, stderr = _run("validate", *args)
        return code, re.sub(r'time="[0-9.]+"', 'time="_"', stdout), stderr  # JUnit's timings

    cold = run(*common[:-2], "--no-cache")
    run(*common)
    _settle()
    assert run(*common) == cold
    assert cold[0] == 1
    assert cold[1].count("000010.md:") + cold[2].count("000010.md:") >= 1


def _url_of(path: Path) -> str:
    found = re.search(r'webUrl: "([^"]+)"', path.read_text(encoding="utf-8"))
    assert found is not None
    return found.group(1)


# -- the racy rule -------------------------------------------------------------


def test_a_file_changed_in_the_tick_it_was_cached_is_read_again(tmp_path: Path) -> None:
    """The stat tuple cannot tell a change made within the clock tick of the run that cached the file:
    such an entry is trusted only once its file is RACY_MARGIN_NS older than that run."""
    corpus = _corpus(tmp_path / "corpus", files=1)
    cache = tmp_path / "cache"
    _run("validate", str(corpus), "--cache-dir", str(cache))
    article = corpus / "000.md"
    article.write_bytes(article.read_bytes().replace(b"publishedDateTime: ", b"publishedDateTime: x", 1))
    _forge_stat(cache, article)  # as if the change had kept the stat tuple, as one in the same tick can
    cold = _run("validate", str(corpus), "--no-cache")
    assert cold[0] == 1
    assert _run("validate", str(corpus), "--cache-dir", str(cache)) == cold


def test_the_racy_test_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the margin, the forged entry of the test above is trusted: the stale verdict comes back."""
    monkeypatch.setattr(converters.cache, "RACY_MARGIN_NS", -(10**18))
    corpus = _corpus(tmp_path / "corpus", files=1)
    cache = tmp_path / "cache"
    _run("validate", str(corpus), "--cache-dir", str(cache))
    article = corpus / "000.md"
    article.write_bytes(article.read_bytes().replace(b"publishedDateTime: ", b"publishedDateTime: x", 1))
    _forge_stat(cache, article)
    assert _run("validate", str(corpus), "--cache-dir", str(cache))[0] == 0


def _forge_stat(cache: Path, article: Path) -> None:
    stat, key = article.stat(), str(article.relative_to(cache.parent))  # known relative to the cache's folder
    (database,) = (cache / converters.cache.LAYOUT).glob("*.sqlite")
    with sqlite3.connect(database) as connection:
        changed = connection.execute(
            "UPDATE files SET size = ?, mtime_ns = ?, inode = ?, ctime_ns = ?, mode = ? WHERE path = ?",
            (*(stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns, stat.st_mode), key),
        ).rowcount
    assert changed == 1


# -- many files, workers, and runs at once ---------------------------------------


def test_workers_fill_and_use_the_cache(tmp_path: Path, checks: list[str]) -> None:
    corpus = tmp_path / "corpus"
    many_articles(corpus, 700)
    cache = str(tmp_path / "cache")
    cold = _run("validate", str(corpus), "--no-cache", "--jobs", "2")
    assert _run("validate", str(corpus), "--cache-dir", cache, "--jobs", "2") == cold
    info = _run("cache", "info", "--cache-dir", cache)
    assert "700 entries" in info[1]
    _settle()
    checks.clear()
    assert _run("validate", str(corpus), "--cache-dir", cache, "--jobs", "1") == cold
    assert checks == []


def test_two_runs_at_once_share_one_cache(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    many_articles(corpus, 1200)
    (corpus / "000" / "000007.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    command = [articles_script(), "validate", str(corpus), "--cache-dir", str(tmp_path / "cache"), "-f", "json"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [(*run.communicate(timeout=120), run.returncode) for run in runs]
    cold = subprocess.run([*command[:-4], "--no-cache", "-f", "json"], capture_output=True, text=True, check=False)
    for stdout, stderr, code in outcomes:
        assert (code, stdout) == (cold.returncode, cold.stdout)
        assert "articles: warning" not in stderr
    _settle()
    warm = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    assert "articles: warning" not in warm.stderr


# -- a cache that cannot be used -------------------------------------------------


def _database(cache: Path) -> Path:
    (database,) = (cache / converters.cache.LAYOUT).glob("*.sqlite")
    return database


@pytest.mark.parametrize("damage", ["garbage", "truncated", "pages"])
def test_a_damaged_cache_is_one_warning_and_is_rebuilt(tmp_path: Path, damage: str) -> None:
    corpus = _corpus(tmp_path / "corpus", files=40)
    cache = tmp_path / "cache"
    cold = _run("validate", str(corpus), "--no-cache")
    _run("validate", str(corpus), "--cache-dir", str(cache))
    database = _database(cache)
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, to damage it there
    if damage == "garbage":
        database.write_bytes(os.urandom(database.stat().st_size))
    elif damage == "pages":  # the header intact, pages in the middle overwritten
        with database.open("r+b") as stream:
            stream.seek(4096)
            stream.write(os.urandom(database.stat().st_size - 8192))
    else:
        with database.open("r+b") as stream:
            stream.truncate(database.stat().st_size // 2)
    code, stdout, stderr = _run("validate", str(corpus), "--cache-dir", str(cache))
    assert (code, stdout) == cold[:2]
    warnings = [line for line in stderr.splitlines() if line.startswith("articles: warning:")]
    assert len(warnings) == 1
    assert "Traceback" not in stderr
    _settle()
    _run("validate", str(corpus), "--cache-dir", str(cache))  # rebuilt: no warning now
    _settle()
    assert _run("validate", str(corpus), "--cache-dir", str(cache)) == cold


def test_a_cache_from_another_version_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checks: list[str]
) -> None:
    corpus = _corpus(tmp_path / "corpus")
    cache = tmp_path / "cache"
    _run("validate", str(corpus), "--cache-dir", str(cache))
    _settle()
    monkeypatch.setattr(converters.cache, "__version__", "99.0.0")
    checks.clear()
    _run("validate", str(corpus), "--cache-dir", str(cache))
    assert len(checks) == 4
    assert len(list((cache / converters.cache.LAYOUT).glob("*.sqlite"))) == 2  # the other one, kept for a while


def test_the_libraries_versions_are_those_importlib_metadata_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import version

    names = [*converters.cache._LIBRARIES, "Not_A.Package"]
    found = converters.cache.installed_versions(names)
    assert found == {**{name: version(name) for name in converters.cache._LIBRARIES}, "Not_A.Package": ""}
    # An upgrade, seen first on sys.path, is another run key.
    (tmp_path / "PyYAML-99.1.dist-info").mkdir()
    key = converters.cache.run_key({}, Limits())
    monkeypatch.syspath_prepend(str(tmp_path))
    assert converters.cache.installed_versions(["pyyaml"]) == {"pyyaml": "99.1"}
    assert converters.cache.run_key({}, Limits()) != key


def test_a_cache_that_cannot_be_written_is_a_warning_and_the_run_goes_on(open_tmp: Path) -> None:
    corpus = _corpus(open_tmp / "corpus")
    cache = open_tmp / "cache"
    _run("validate", str(corpus), "--cache-dir", str(cache))
    for folder, _, _ in os.walk(open_tmp / "corpus"):
        os.chmod(folder, 0o755)
    shutil.copy(corpus / "000.md", corpus / "new.md")  # something to store, and a duplicate to report
    cold = _run("validate", str(corpus), "--no-cache")

    def as_nobody() -> list[Any]:  # the cache belongs to root: read-only to nobody
        return list(_run("validate", str(corpus), "--cache-dir", str(cache)))

    code, stdout, stderr = unprivileged(as_nobody)
    assert (code, stdout) == cold[:2]
    assert stderr.count("articles: warning:") == 1
    assert "cache" in stderr


def test_a_full_disk_under_the_cache_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(connection: sqlite3.Connection) -> NoReturn:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(converters.cache, "_transaction", full)
    corpus = _corpus(tmp_path / "corpus")
    cold = _run("validate", str(corpus), "--no-cache")
    code, stdout, stderr = _run("validate", str(corpus), "--cache-dir", str(tmp_path / "cache"))
    assert (code, stdout) == cold[:2]
    assert stderr.count("articles: warning:") == 1
    assert "database or disk is full" in stderr


def test_a_folder_that_is_not_a_cache_is_left_alone(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, stderr = _run("validate", str(corpus), "--cache-dir", str(mine))
    assert code == 0
    assert "is not a cache folder articles made" in stderr
    assert sorted(os.listdir(mine)) == ["notes.txt"]
    code, _, stderr = _run("cache", "clean", "--cache-dir", str(mine))
    assert code == 2
    assert (mine / "notes.txt").exists()


def test_clean_removes_only_what_articles_put_there(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    cache = tmp_path / "cache"
    _run("validate", str(corpus), "--cache-dir", str(cache))
    (cache / "notes.txt").write_text("mine", encoding="utf-8")
    (cache / converters.cache.LAYOUT / "other.txt").write_text("mine", encoding="utf-8")
    code, stdout, _ = _run("cache", "clean", "--cache-dir", str(cache))
    assert code == 0
    assert stdout == f"removed the cache from {cache}; left there: notes.txt, v1\n"
    assert sorted(p.name for p in cache.rglob("*")) == [".gitignore", "CACHEDIR.TAG", "notes.txt", "other.txt", "v1"]


def test_a_cache_that_cannot_be_removed_is_exit_3(open_tmp: Path) -> None:
    corpus = _corpus(open_tmp / "corpus")
    cache = open_tmp / "cache"
    _run("validate", str(corpus), "--cache-dir", str(cache))

    def as_nobody() -> list[Any]:
        return list(_run("cache", "clean", "--cache-dir", str(cache)))

    code, _, stderr = unprivileged(as_nobody)
    assert code == 3
    assert stderr.startswith(f"articles: error: cannot remove the cache in {cache}: Permission denied")
    assert (cache / "CACHEDIR.TAG").exists()


# -- the folder ------------------------------------------------------------------


def test_the_folder_is_tagged_ignored_and_removed_by_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus(tmp_path / "corpus")
    monkeypatch.delenv("ARTICLES_CACHE_DIR")
    monkeypatch.chdir(tmp_path)
    assert _run("validate", "corpus")[0] == 0
    cache = tmp_path / ".articles_cache"
    assert (
        (cache / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (cache / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    listed = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert ".articles_cache" not in listed
    assert "corpus/000.md" in listed
    code, stdout, _ = _run("cache", "info")
    assert code == 0
    assert "4 entries" in stdout
    assert ".articles_cache" in stdout
    assert _run("cache", "clean")[:2] == (0, "removed .articles_cache\n")
    assert not cache.exists()
    assert _run("cache", "info")[1] == "no cache at .articles_cache\n"


def test_no_cache_writes_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus(tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    assert _run("validate", "corpus", "--no-cache")[0] == 0
    assert _run("export", "corpus", "-o", "out.jsonl", "--no-cache")[0] == 0
    assert not Path(os.environ["ARTICLES_CACHE_DIR"]).exists()
    assert sorted(os.listdir(tmp_path)) == ["corpus", "out.jsonl"]


def test_the_configuration_can_turn_the_cache_off_and_move_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus(tmp_path / "corpus")
    monkeypatch.delenv("ARTICLES_CACHE_DIR")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "articles.toml").write_text('cache-dir = "build/articles-cache"\n', encoding="utf-8")
    assert _run("validate", "corpus")[0] == 0
    assert (tmp_path / "build" / "articles-cache" / "CACHEDIR.TAG").is_file()
    assert "4 entries" in _run("cache", "info")[1]
    (tmp_path / "articles.toml").write_text("cache = false\n", encoding="utf-8")
    shutil.rmtree(tmp_path / "build")
    assert _run("validate", "corpus")[0] == 0
    assert not (tmp_path / "build").exists()


def test_entries_of_files_that_are_gone_are_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converters.cache, "PRUNE_SLACK", 0)
    corpus = _corpus(tmp_path / "corpus", files=12)
    cache = tmp_path / "cache"
    _run("validate", str(corpus), "--cache-dir", str(cache))
    for n in range(8):
        (corpus / f"{n:03d}.md").unlink()
    _run("validate", str(corpus), "--cache-dir", str(cache))  # 12 entries for 4 files: over twice as many
    with sqlite3.connect(_database(cache)) as connection:
        kept = sorted(Path(path).name for (path,) in connection.execute("SELECT path FROM files"))
    assert kept == ["008.md", "009.md", "010.md", "011.md"]


# -- --corpus: a pre-commit hook's files against the whole corpus ------------------


@pytest.fixture
def hooked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose corpus a full run has cached, and a new file that reuses a webUrl of it."""
    monkeypatch.chdir(tmp_path)
    _corpus(tmp_path / "articles", files=6)
    assert _run("validate", "articles", "--cache-dir", "cache")[0] == 0
    staged = tmp_path / "articles" / "new.md"
    staged.write_text((tmp_path / "articles" / "004.md").read_text(encoding="utf-8").replace("title:", "title: New", 1))
    _settle()
    return staged


def test_a_staged_file_is_checked_against_the_cached_corpus(hooked: Path) -> None:
    code, stdout, stderr = _run("validate", "articles/new.md", "--corpus", "articles", "--cache-dir", "cache")
    assert code == 1
    assert "articles/new.md:" in stdout
    assert "is also used by articles/004.md:" in stdout
    assert "articles: warning" not in stderr
    assert _run("validate", "articles/new.md", "--cache-dir", "cache")[0] == 0  # without --corpus: alone


def test_the_corpus_is_read_again_where_it_changed(hooked: Path) -> None:
    other = hooked.parent / "004.md"
    other.write_text(other.read_text(encoding="utf-8").replace("https://c4.", "https://moved.", 1), encoding="utf-8")
    assert _run("validate", "articles/new.md", "--corpus", "articles", "--cache-dir", "cache")[0] == 0
    renamed = hooked.parent / "005.md"  # now another cached file takes the webUrl: its bytes tell
    text = hooked.read_text(encoding="utf-8")
    renamed.write_text(text.replace("title: New", "title: Other", 1), encoding="utf-8")
    code, stdout, _ = _run("validate", "articles/new.md", "--corpus", "articles", "--cache-dir", "cache")
    assert code == 1
    assert "is also used by articles/005.md" in stdout


def test_a_corpus_file_turned_invalid_lends_no_weburl(hooked: Path) -> None:
    """A cached file that is invalid now loses its entry, which would still give --corpus its webUrl:
    the answer is the one a run without the cache gives."""
    other = hooked.parent / "004.md"
    text = other.read_text(encoding="utf-8")
    other.write_text(re.sub(r"(?m)^publishedDateTime:.*\n", "", text, count=1), encoding="utf-8")
    assert _run("validate", "articles/004.md", "--cache-dir", "cache")[0] == 1  # invalid now
    arguments = ["validate", "articles/new.md", "--corpus", "articles"]
    assert _run(*arguments, "--no-cache")[0] == 0
    assert _run(*arguments, "--cache-dir", "cache")[0] == 0
    with contextlib.closing(sqlite3.connect(next((hooked.parent.parent / "cache").rglob("*.sqlite")))) as db:
        assert db.execute("SELECT count(*) FROM files WHERE path LIKE '%004.md'").fetchone()[0] == 0


def test_a_full_run_with_corpus_is_a_full_run(hooked: Path) -> None:
    assert _run("validate", "articles", "--corpus", "articles", "--cache-dir", "cache") == _run(
        "validate", "articles", "--no-cache"
    )


@pytest.mark.parametrize("cache", [["--cache-dir", "other-cache"], ["--no-cache"]])
def test_corpus_gives_the_same_answer_with_a_cold_cache_or_none(hooked: Path, cache: list[str]) -> None:
    warm = _run("validate", "articles/new.md", "--corpus", "articles", "--cache-dir", "cache")
    assert _run("validate", "articles/new.md", "--corpus", "articles", *cache) == warm
    assert not list(Path(tempfile.gettempdir()).glob("articles-corpus-*"))  # the run's own cache is gone


def test_a_corpus_that_is_not_there_is_a_usage_error(hooked: Path) -> None:
    code, _, stderr = _run("validate", "articles/new.md", "--corpus", "nope")
    assert code == 2
    assert "--corpus nope: no such folder" in stderr


def test_the_configuration_names_the_corpus(hooked: Path) -> None:
    Path("articles.toml").write_text('cache-dir = "cache"\n[validate]\ncorpus = "articles"\n', encoding="utf-8")
    code, stdout, _ = _run("validate", "--force-exclude", "articles/new.md")  # as the pre-commit hook runs it
    assert code == 1
    assert "is also used by articles/004.md" in stdout


def test_corpus_looks_only_at_what_a_walk_of_it_finds(hooked: Path) -> None:
    """Entries of files outside the corpus, excluded from it, or the run's own file under another
    name are not duplicates; a file with a warning (valid, never reused) is one."""
    outside = hooked.parent.parent.parent / f"{hooked.parent.parent.name}-outside"
    outside.mkdir()
    shutil.copy(hooked, outside / "o.md")
    drafts = hooked.parent / "drafts"
    drafts.mkdir()
    shutil.copy(hooked, drafts / "d.md")
    assert _run("validate", str(outside), str(drafts), "--cache-dir", "cache")[0] == 1  # both cached, valid alone
    (hooked.parent / "004.md").unlink()
    code, stdout, _ = _run(
        "validate", "--exclude", "drafts", "--corpus", ".", "articles/new.md", "--cache-dir", "cache"
    )
    assert (code, stdout.count("[unique]")) == (0, 0), stdout
    linked = hooked.parent.parent / "linked"
    linked.symlink_to(hooked.parent.parent)
    code, stdout, _ = _run("validate", "--exclude", "drafts", "--corpus", str(linked / "articles"), "articles/new.md",
                           "--cache-dir", "cache")  # fmt: skip
    assert (code, stdout.count("[unique]")) == (0, 0), stdout
    warned = (CASES / "valid" / "yaml11-scalars-warn.md").read_text(encoding="utf-8")
    url = re.search(r"webUrl: (\S+)", warned)
    assert url is not None
    (hooked.parent / "warned.md").write_text(warned, encoding="utf-8")
    text = hooked.read_text(encoding="utf-8")
    hooked.write_text(re.sub(r'webUrl: "[^"]+"', f"webUrl: {url.group(1)}", text), encoding="utf-8")
    code, stdout, _ = _run(
        "validate", "--exclude", "drafts", "--corpus", "articles", "articles/new.md", "--cache-dir", "cache"
    )
    assert code == 1
    assert "is also used by articles/warned.md:" in stdout


def test_a_corpus_file_changed_since_is_located_where_it_is_now(hooked: Path) -> None:
    other = hooked.parent / "004.md"
    moved_down = other.read_text(encoding="utf-8").replace("---\n", "---\n# note 017\n# x\n", 1)  # still valid
    other.write_text(moved_down, encoding="utf-8")
    code, stdout, _ = _run("validate", "articles/new.md", "--corpus", "articles", "--cache-dir", "cache")
    full = _run("validate", "articles", "--no-cache")[1]
    assert code == 1
    where = re.search(r"also used by (articles/004\.md:\d+)", stdout)
    assert where is not None
    assert where.group(1) in full


def test_no_temporary_cache_is_left_behind(hooked: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("articles-corpus-*"))
    assert _run("validate", "--no-cache", "--corpus", "articles", "nothing-here.md")[0] == 2
    assert set(Path(tempfile.gettempdir()).glob("articles-corpus-*")) == before


# -- odd files, odd folders --------------------------------------------------------


def test_a_file_stamped_past_2262_is_checked_not_cached(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    os.utime(corpus / "000.md", ns=(2**63 + 10**9, 2**63 + 10**9))
    cold = _run("validate", str(corpus), "--no-cache")
    assert _run("validate", str(corpus), "--cache-dir", str(tmp_path / "cache")) == cold
    _settle()
    assert _run("validate", str(corpus), "--cache-dir", str(tmp_path / "cache")) == cold


def test_a_folder_whose_name_is_not_utf8_is_checked_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/d\xff"))
    _corpus(odd)
    monkeypatch.chdir(odd)
    cold = _run("validate", ".", "--no-cache")
    assert _run("validate", ".", "--cache-dir", str(tmp_path / "cache")) == cold
    assert _run("validate", "000.md", "--cache-dir", str(tmp_path / "cache"))[0] == 0


def test_many_cold_runs_at_once_all_use_the_cache(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", files=30)
    command = [articles_script(), "validate", str(corpus), "--cache-dir", str(tmp_path / "fresh")]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0
        assert "articles: warning" not in stderr


def test_another_tools_tagged_folder_is_not_taken_for_ours(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    target = tmp_path / "target"
    (target / "v1").mkdir(parents=True)
    (target / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n# cargo\n", encoding="utf-8")
    (target / "v1" / "results.sqlite").write_text("theirs", encoding="utf-8")
    code, _, stderr = _run("validate", str(corpus), "--cache-dir", str(target))
    assert code == 0
    assert "is not a cache folder articles made" in stderr
    assert _run("cache", "clean", "--cache-dir", str(target))[0] == 2
    assert sorted(p.name for p in target.rglob("*")) == ["CACHEDIR.TAG", "results.sqlite", "v1"]


# -- objects in a bucket -----------------------------------------------------------


def test_objects_are_cached_by_size_and_etag(bucket: Bucket, checks: list[str], tmp_path: Path) -> None:
    """A warm run over a bucket fetches and checks only what changed; its report and output are the cold run's."""
    corpus = _corpus(tmp_path / "corpus", files=300)  # enough for the worker pool
    bucket.upload_folder(corpus, "corpus/")
    cache = ("--cache-dir", str(tmp_path / "cache"), "--jobs", "1")  # one process: `checks` sees every check

    def runs() -> tuple[tuple[int, str, str], tuple[int, str, str]]:
        cold = _run("export", bucket.uri("corpus/"), "-o", str(tmp_path / "cold.jsonl"), "--overwrite", "--no-cache")
        checks.clear()
        warm = _run("export", bucket.uri("corpus/"), "-o", str(tmp_path / "warm.jsonl"), "--overwrite", *cache)
        assert (tmp_path / "warm.jsonl").read_bytes() == (tmp_path / "cold.jsonl").read_bytes()
        return warm, cold

    _run("export", bucket.uri("corpus/"), "-o", str(tmp_path / "fill.jsonl"), *cache)
    warm, cold = runs()
    assert warm[0] == cold[0] == 0
    assert checks == []  # every object as cached: none fetched, none checked
    edited = (corpus / "001.md").read_bytes().replace(b"title:", b"title: x", 1)
    bucket.put("corpus/001.md", edited)
    same_size = (corpus / "002.md").read_bytes().replace(b"Sindh", b"Sindy", 1)  # the same size, another ETag
    bucket.put("corpus/002.md", same_size)
    bucket.put("corpus/new.md", (corpus / "003.md").read_bytes())  # a duplicate webUrl
    warm, cold = runs()
    assert sorted(checks) == ["001.md", "002.md", "new.md"]
    assert (warm[0], warm[1]) == (cold[0], cold[1])
