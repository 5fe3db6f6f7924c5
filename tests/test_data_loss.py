"""No command line deletes or overwrites what articles did not write, unless --overwrite says so.

Every case runs the installed console script as a real process, and checks
the files on disk afterwards, byte for byte.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SEEDS, RunProcess, articles_script, many_articles

MANIFEST = "_articles_manifest.json"
DIRECTORY_OUTPUTS = {
    "dataset": ("-o", "--partition-by", "category"),
    "tables": ("--normalize",),
}


def _directory_export(kind: str, corpus: Path, out: Path) -> list[str]:
    flag, *rest = DIRECTORY_OUTPUTS[kind]
    return ["export", str(corpus), flag, str(out), *rest]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("kind", list(DIRECTORY_OUTPUTS))
def test_a_directory_holding_a_file_of_someone_else_is_refused_and_kept(
    run_process: RunProcess, corpus: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    before = _tree(out)
    result = run_process(*_directory_export(kind, corpus, out))
    _refused(result, str(out), "--overwrite", "notes.txt")
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out"]  # no temporary left either


@pytest.mark.parametrize("kind", list(DIRECTORY_OUTPUTS))
def test_the_input_corpus_as_the_output_directory_is_refused(run_process: RunProcess, corpus: Path, kind: str) -> None:
    before = _tree(corpus)
    _refused(run_process(*_directory_export(kind, corpus, corpus)), "is also an input")
    _refused(run_process(*_directory_export(kind, corpus, corpus), "--overwrite"), "is also an input")
    assert _tree(corpus) == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["export", "{corpus}", "-o", "{corpus}/out.jsonl"], "is inside the input directory"),
        (["export", "{corpus}", "-o", "{corpus}/sub/dataset", "--partition-by", "category"], "inside the input"),
        (["export", "{corpus}/sub", "-o", "{corpus}", "--partition-by", "category", "--overwrite"], "contains the"),
        (["export", "{corpus}/a.md", "-o", "{corpus}/a.md", "--to", "jsonl"], "is also an input"),
        (["export", "{corpus}/a.md", "-o", "{tmp}/link.jsonl"], "is also an input"),
        (["export", "{corpus}", "-o", "{tmp}/out.jsonl", "--on-invalid", "skip", "--rejects", "{corpus}/r.jsonl"], ""),
        (["load", "{corpus}", "--into", "{corpus}/warehouse.duckdb"], "is inside the input directory"),
        (["load", "{corpus}", "--into", "{tmp}/w.duckdb", "--on-invalid", "skip", "--rejects", "{corpus}/a.md"], ""),
    ],
    ids=[
        "file-in-input",
        "dataset-in-input",
        "dataset-around-input",
        "file-is-input",
        "symlink-to-input",
        "rejects-in-input",
        "database-in-input",
        "rejects-is-input",
    ],
)
def test_an_output_that_is_inside_or_around_an_input_is_refused_before_anything_is_written(
    run_process: RunProcess, tmp_path: Path, arguments: list[str], message: str
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.md").write_bytes(SEEDS[0].read_bytes())
    (corpus / "sub" / "b.md").write_bytes(SEEDS[1].read_bytes())
    (tmp_path / "link.jsonl").symlink_to(corpus / "a.md")
    before = _tree(tmp_path)
    result = run_process(*(a.format(corpus=corpus, tmp=tmp_path) for a in arguments))
    _refused(result, message)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("kind", list(DIRECTORY_OUTPUTS))
def test_overwrite_replaces_a_directory_of_someone_else(
    run_process: RunProcess, corpus: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "out"
    (out / "deep").mkdir(parents=True)
    (out / "deep" / "notes.txt").write_text("mine\n")
    result = run_process(*_directory_export(kind, corpus, out), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert not (out / "deep").exists()
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted(name for name in _tree(out) if name != MANIFEST)


@pytest.mark.parametrize("kind", list(DIRECTORY_OUTPUTS))
def test_an_empty_directory_and_an_earlier_output_are_used_without_overwrite(
    run_process: RunProcess, corpus: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "out"
    (out / "empty-folder").mkdir(parents=True)
    assert run_process(*_directory_export(kind, corpus, out)).returncode == 0
    first = _tree(out)
    assert MANIFEST in first
    (corpus / SEEDS[0].name).unlink()  # the next output holds less: it replaces the old one whole
    result = run_process(*_directory_export(kind, corpus, out))
    assert result.returncode == 0, result.stderr
    second = _tree(out)
    assert second != first
    listed = json.loads(second[MANIFEST])["files"]
    assert sorted(second) == sorted([*listed, MANIFEST])


def test_an_earlier_output_with_a_file_added_since_is_refused(
    run_process: RunProcess, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dataset"
    assert run_process(*_directory_export("dataset", corpus, out)).returncode == 0
    (out / "README.md").write_text("what this dataset is\n")
    before = _tree(out)
    _refused(run_process(*_directory_export("dataset", corpus, out)), "README.md", "--overwrite")
    assert _tree(out) == before


def test_a_symbolic_link_in_the_output_directory_is_never_taken_for_an_output(
    run_process: RunProcess, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dataset"
    assert run_process(*_directory_export("dataset", corpus, out)).returncode == 0
    (tmp_path / "elsewhere").mkdir()
    (out / "linked").symlink_to(tmp_path / "elsewhere")
    _refused(run_process(*_directory_export("dataset", corpus, out)), "linked")


def _with_umask(mask: int) -> Callable[[], None]:
    def set_mask() -> None:
        os.umask(mask)

    return set_mask


@pytest.mark.parametrize("mask", [0o022, 0o027])
@pytest.mark.parametrize("kind", list(DIRECTORY_OUTPUTS))
def test_directories_the_export_creates_get_the_mode_the_umask_gives(
    corpus: Path, tmp_path: Path, kind: str, mask: int
) -> None:
    out = tmp_path / "out"
    subprocess.run([articles_script(), *_directory_export(kind, corpus, out)], preexec_fn=_with_umask(mask), check=True)
    folders = [out, *(p for p in out.rglob("*") if p.is_dir())]
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask, folder
    for file in (p for p in out.rglob("*") if p.is_file()):
        assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~mask, file


def test_a_sigkill_while_an_earlier_dataset_is_replaced_leaves_one_whole_and_ours(tmp_path: Path) -> None:
    many_articles(tmp_path / "old-in", 300, host="old")
    many_articles(tmp_path / "new-in", 1500, host="new")
    out = tmp_path / "dataset"
    command = [articles_script(), "export", "-o", str(out), "--partition-by", "published_date", "--jobs", "2"]
    assert subprocess.run([*command, str(tmp_path / "new-in")], check=False).returncode == 0
    new = _tree(out)
    assert subprocess.run([*command, str(tmp_path / "old-in")], check=False).returncode == 0
    old = _tree(out)
    started = time.monotonic()
    assert subprocess.run([*command, str(tmp_path / "new-in")], check=False).returncode == 0
    duration = time.monotonic() - started
    outcomes = set()
    for delay in random.Random(7).sample([duration * 1.1 * (k + random.random()) / 8 for k in range(8)], 8):
        assert subprocess.run([*command, str(tmp_path / "old-in")], check=False).returncode == 0
        process = subprocess.Popen([*command, str(tmp_path / "new-in")], stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        tree = _tree(out)
        assert tree in (old, new), f"a partial dataset after a kill at {delay:.2f} s"
        outcomes.add("old" if tree == old else "new")
        for stray in tmp_path.glob(".dataset.*"):  # a kill may leave a hidden temporary beside it, never in it
            subprocess.run(["rm", "-rf", str(stray)], check=True)
    assert "old" in outcomes


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet", "feed.xml"])
def test_a_file_of_someone_else_is_refused_and_an_earlier_export_replaced(
    run_process: RunProcess, corpus: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    out.write_bytes(b"my own notes\n")
    _refused(run_process("export", str(corpus), "-o", str(out)), str(out), "--overwrite")
    assert out.read_bytes() == b"my own notes\n"

    assert run_process("export", str(corpus), "-o", str(out), "--overwrite").returncode == 0
    first = out.read_bytes()
    (corpus / SEEDS[0].name).unlink()
    result = run_process("export", str(corpus), "-o", str(out))  # its own earlier output: no flag needed
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() != first


def test_an_earlier_export_edited_since_is_someone_elses(run_process: RunProcess, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert run_process("export", str(corpus), "-o", str(out)).returncode == 0
    with out.open("ab") as stream:
        stream.write(b'{"added": "by hand"}\n')
    edited = out.read_bytes()
    _refused(run_process("export", str(corpus), "-o", str(out)), "has changed since", "--overwrite")
    assert out.read_bytes() == edited


def test_an_empty_file_may_be_replaced(run_process: RunProcess, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.touch()
    assert run_process("export", str(corpus), "-o", str(out)).returncode == 0
    assert out.read_bytes().count(b"\n") == len(SEEDS)


@pytest.mark.parametrize("command", ["export", "load"])
def test_a_rejects_file_of_someone_else_is_refused(
    run_process: RunProcess, corpus: Path, tmp_path: Path, command: str
) -> None:
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_bytes(b"keep me\n")
    target = ["-o", str(tmp_path / "out.jsonl")] if command == "export" else ["--into", str(tmp_path / "w.duckdb")]
    arguments = [command, str(corpus), *target, "--on-invalid", "skip", "--rejects", str(rejects)]
    _refused(run_process(*arguments), str(rejects), "--overwrite")
    assert rejects.read_bytes() == b"keep me\n"
    assert run_process(*arguments, "--overwrite").returncode == 0
    assert run_process(*arguments).returncode == 0  # now its own
