"""Repeated runs with the cache against runs without it, on a corpus that changes a little each time.

    python benchmarks/cache.py [--files 100000] [--rounds 3]

The corpus (benchmarks/generate.py) is read once, so that every run meets a
warm page cache. Each round then runs, each command as its own process:

- validate and export --to parquet with --no-cache (the baselines);
- the same two with an empty cache (cold: they fill it), validate and
  export each with a cache of its own, so that each warm run below sees
  exactly the changes made since its own last run;
- both again over the unchanged corpus (warm);
- then 1% of the files are edited (half of them same-size edits with their
  mtime put back, which only the ctime and the bytes tell), 0.5% added and
  0.5% deleted, and both run again (warm, after changes).

Before each warm run the script waits out the racy margin (2 s): files
changed within it of a run are read and hashed, not trusted on their stat.
The median over the rounds counts. Nothing here asserts a time: only the
ratios from one run on one machine mean anything. The table printed at the
end is the one in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from generate import article, generate
from run import articles, machine, measure

RACY_MARGIN_S = 2.1
NAMES = (
    "validate, no cache",
    "validate, cold cache",
    "validate, warm, unchanged",
    "validate, warm, after changes",
    "export parquet, no cache",
    "export parquet, cold cache",
    "export parquet, warm, unchanged",
    "export parquet, warm, after changes",
)


def change(corpus: Path, files: list[Path], round_number: int, next_number: int) -> int:
    """Edit 1% of the files, add 0.5% and delete 0.5%; -> the next number free for a new file."""
    rng = random.Random(round_number)
    count = len(files)
    chosen = rng.sample(range(count), count // 100 + count // 200)
    edited, deleted = chosen[: count // 100], chosen[count // 100 :]
    for position, index in enumerate(edited):
        path = files[index]
        before = path.stat()
        text = path.read_text(encoding="utf-8")
        if position % 2:  # the same size and mtime: the title's first letter changed (titles are quoted)
            at = text.index('title: "') + 8
            text = text[:at] + ("X" if text[at] != "X" else "Y") + text[at + 1 :]
            path.write_text(text, encoding="utf-8")
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        else:
            path.write_text(text.replace('title: "', 'title: "Updated ', 1), encoding="utf-8")
    for index in sorted(deleted, reverse=True):
        files[index].unlink()
        del files[index]
    for number in range(next_number, next_number + count // 200):
        path = corpus / "new" / f"{number:07d}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(article(number, seed=1), encoding="utf-8")
        files.append(path)
    return next_number + count // 200


Timings = dict[str, tuple[float, int]]  # name -> (seconds, peak RSS in bytes)


def one_round(corpus: Path, work: Path, files: list[Path], number: int, next_number: int) -> tuple[Timings, int]:
    quiet = ("--no-progress", "--isolated")
    validate_cache, export_cache = work / "cache-validate", work / "cache-export"

    def validate(*more: str) -> tuple[float, int]:
        seconds, peak, _ = measure(articles("validate", str(corpus), *quiet, *more))
        return seconds, peak

    def export(*more: str) -> tuple[float, int]:
        out = work / "out.parquet"
        seconds, peak, _ = measure(articles("export", str(corpus), "-o", str(out), "--overwrite", *quiet, *more))
        return seconds, peak

    timings = {NAMES[0]: validate("--no-cache"), NAMES[4]: export("--no-cache")}
    shutil.rmtree(validate_cache, ignore_errors=True)
    shutil.rmtree(export_cache, ignore_errors=True)
    timings[NAMES[1]] = validate("--cache-dir", str(validate_cache))
    timings[NAMES[5]] = export("--cache-dir", str(export_cache))
    time.sleep(RACY_MARGIN_S)
    timings[NAMES[2]] = validate("--cache-dir", str(validate_cache))
    timings[NAMES[6]] = export("--cache-dir", str(export_cache))
    next_number = change(corpus, files, number, next_number)
    time.sleep(RACY_MARGIN_S)
    timings[NAMES[3]] = validate("--cache-dir", str(validate_cache))
    timings[NAMES[7]] = export("--cache-dir", str(export_cache))
    return timings, next_number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, help="folder for the corpus and caches (default: a temporary one)")
    arguments = parser.parse_args()
    rounds = changing_corpus(arguments.work, arguments.files, arguments.rounds, "articles-cache-bench-", one_round)
    print(table(rounds, arguments.files))


Round = Callable[[Path, Path, list[Path], int, int], tuple[Timings, int]]


def changing_corpus(given: Path | None, files: int, rounds: int, prefix: str, run: Round) -> list[Timings]:
    """Generate the corpus (in `given`, or a temporary folder removed at the end), read it once into the
    page cache, then call `run(corpus, work, files, round, next number)` for each round."""
    work = given or Path(tempfile.mkdtemp(prefix=prefix))
    corpus = work / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    print(f"generating {files:,} files in {corpus}...", file=sys.stderr, flush=True)
    generate(corpus, files)
    paths = sorted(corpus.rglob("*.md"))
    for path in paths:
        path.read_bytes()  # into the page cache
    time.sleep(RACY_MARGIN_S)
    timings: list[Timings] = []
    next_number = files
    for number in range(rounds):
        print(f"round {number + 1} of {rounds}...", file=sys.stderr, flush=True)
        measured, next_number = run(corpus, work, paths, number, next_number)
        timings.append(measured)
    if given is None:
        shutil.rmtree(work, ignore_errors=True)
    return timings


def table(rounds: list[Timings], files: int) -> str:
    seconds = {name: statistics.median(r[name][0] for r in rounds) for name in NAMES}
    peak = {name: max(r[name][1] for r in rounds) for name in NAMES}
    lines = [
        f"{files:,} files; median of {len(rounds)} rounds; {machine()}",
        "",
        "| Run | Time | Of the cold run | Of the run without cache | Peak RSS |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in NAMES:
        command = name.split(",")[0]
        cold, none = seconds[f"{command}, cold cache"], seconds[f"{command}, no cache"]
        lines.append(
            f"| {name} | {seconds[name]:.2f} s | {seconds[name] / cold:.0%} | {seconds[name] / none:.0%} "
            f"| {peak[name] / 2**20:.0f} MB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
