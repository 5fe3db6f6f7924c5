"""An export's output appears whole or not at all: kills, a full disk, Ctrl-C, races, special files."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import SEEDS, RunCli, RunProcess, articles_script, many_articles

KILL_POINTS = 20


def _export(corpus: Path, out: Path, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [articles_script(), "export", str(corpus), "-o", str(out), "--jobs", "2", *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".old")))


@pytest.mark.parametrize("name", ["out.jsonl", "out.parquet"])
def test_a_sigkill_at_any_point_leaves_the_old_output_or_the_whole_new_one(tmp_path: Path, name: str) -> None:
    many_articles(tmp_path / "in", 2000)
    reference = tmp_path / f"reference-{name}"
    started = time.monotonic()
    assert _export(tmp_path / "in", reference).wait() == 0
    duration = time.monotonic() - started
    new = reference.read_bytes()

    out = tmp_path / name
    many_articles(tmp_path / "old-in", 10, host="old")
    assert _export(tmp_path / "old-in", out).wait() == 0  # an earlier export, which the next one may replace
    old = out.read_bytes()
    # Kill points spread over the whole run, from start-up to just past the rename, in a random order.
    points = [duration * 1.1 * (k + random.random()) / (KILL_POINTS // 2) for k in range(KILL_POINTS // 2)]
    outcomes: set[str] = set()
    for delay in random.Random(name).sample(points, len(points)):
        process = _export(tmp_path / "in", out)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert _workers_end(str(out)), "worker processes outlived the killed export"
        content = out.read_bytes()
        assert content in (old, new), f"a partial {name} after a kill at {delay:.2f} s"
        outcomes.add("old" if content == old else "new")
        assert _export(tmp_path / "old-in", out).wait() == 0  # the earlier export again, byte for byte
        assert out.read_bytes() == old
        for stray in _temporary_files(tmp_path):  # documented: a kill can leave a hidden .tmp, never OUT
            os.unlink(tmp_path / stray)
    assert "old" in outcomes  # some kills landed mid-run, or the test proves nothing


def _workers_end(marker: str, grace: float = 10.0) -> bool:
    """Whether every process whose command line names `marker` is gone within `grace` seconds."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(marker.encode() in _command_line(pid) for pid in os.listdir("/proc") if pid.isdigit()):
            return True
        time.sleep(0.05)
    return False


def _command_line(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it ended while we looked
        return b""


def _limit_file_size() -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so the write fails with EFBIG instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.parametrize("name", ["articles.jsonl", "articles.parquet", "articles.csv", "articles.xml"])
def test_a_full_disk_is_a_clear_error_and_leaves_nothing_behind(tmp_path: Path, name: str) -> None:
    many_articles(tmp_path / "in", 300)  # about 900 KB of JSON Lines, far past the 20 KB limit
    out = tmp_path / "out" / name
    out.parent.mkdir()
    result = subprocess.run(
        [articles_script(), "export", str(tmp_path / "in"), "-o", str(out)]
        + (["--row-group-size", "50"] if name.endswith(".parquet") else []),
        preexec_fn=_limit_file_size,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(out.parent.iterdir()) == []


def test_dev_full_is_written_to_in_place_and_fails_clearly(run_process: RunProcess) -> None:
    before = sorted(os.listdir("/dev"))
    result = run_process("export", str(SEEDS[0]), "-o", "/dev/full", "--to", "jsonl")
    assert result.returncode == 3
    assert "cannot write /dev/full: No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir("/dev")) == before  # no temporary file, no rename: /dev/full is still a device


def test_dev_stdout_is_written_to_in_place(run_process: RunProcess, tmp_path: Path) -> None:
    assert run_process("export", str(SEEDS[0]), "-o", str(tmp_path / "file.jsonl")).returncode == 0
    before = sorted(os.listdir("/dev"))
    result = run_process("export", str(SEEDS[0]), "-o", "/dev/stdout", "--to", "jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (tmp_path / "file.jsonl").read_text(encoding="utf-8")
    assert sorted(os.listdir("/dev")) == before


def test_a_fifo_is_written_to_in_place(run_process: RunProcess, tmp_path: Path) -> None:
    assert run_process("export", str(SEEDS[0]), "-o", str(tmp_path / "file.jsonl")).returncode == 0
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_process("export", str(SEEDS[0]), "-o", str(fifo))
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert received == [(tmp_path / "file.jsonl").read_bytes()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.jsonl", "pipe.jsonl"]
    assert fifo.is_fifo()


def test_an_output_directory_that_does_not_exist_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("export", str(SEEDS[0]), "-o", str(tmp_path / "missing" / "out.jsonl"))
    assert result.exit_code == 2
    assert f"directory {tmp_path / 'missing'} does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.jsonl", "dataset"])
def test_two_exports_to_the_same_output_at_once_one_wins_whole(tmp_path: Path, name: str) -> None:
    options = ["--partition-by", "published_date"] if name == "dataset" else []
    outputs: dict[str, bytes | set[str]] = {}
    for host in ("a", "b"):
        many_articles(tmp_path / host, 1500, host=host)
        assert _export(tmp_path / host, tmp_path / f"{host}-{name}", *options).wait() == 0
        outputs[host] = _snapshot(tmp_path / f"{host}-{name}")
    out = tmp_path / name
    for _ in range(3):
        racing = [_export(tmp_path / host, out, *options) for host in ("a", "b")]
        assert [process.wait() for process in racing] == [0, 0]
        assert _snapshot(out) in outputs.values()
        assert _temporary_files(tmp_path) == []


def _snapshot(out: Path) -> bytes | set[str]:
    """A file's bytes; a dataset's files, each with its size."""
    if out.is_file():
        return out.read_bytes()
    return {f"{p.relative_to(out)}:{p.stat().st_size}" for p in out.rglob("*") if p.is_file()}


def test_ctrl_c_exits_130_with_no_traceback_and_no_output(tmp_path: Path) -> None:
    _interrupted_by(signal.SIGINT, tmp_path)


def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path: Path) -> None:
    _interrupted_by(signal.SIGTERM, tmp_path, "--on-invalid", "skip", "--rejects", str(tmp_path / "rejects.jsonl"))


def _interrupted_by(signal_number: int, tmp_path: Path, *options: str) -> None:
    many_articles(tmp_path / "in", 20_000)  # a few seconds of work, even on the fast path
    process = _export(tmp_path / "in", tmp_path / "out.parquet", *options)
    time.sleep(0.5)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert b"interrupted" in stderr
    assert b"Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no output, no temporary file


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_escape_formulas_covers_every_formula_start(run_cli: RunCli, tmp_path: Path, start: str) -> None:
    import csv

    corpus = tmp_path / "in"
    corpus.mkdir()
    text = SEEDS[0].read_text(encoding="utf-8")
    title = next(line for line in text.split("\n") if line.startswith("title:"))
    escaped = start.replace("\t", "\\t").replace("\r", "\\r")
    (corpus / "a.md").write_text(text.replace(title, f'title: "{escaped}cmd|calc"', 1), encoding="utf-8")
    assert run_cli("export", str(corpus), "-o", str(tmp_path / "out.csv"), "--escape-formulas").exit_code == 0
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as stream:
        assert next(csv.DictReader(stream))["title"] == f"'{start}cmd|calc"
