"""A nightly load against the first load of the same corpus, into each target.

    python benchmarks/load.py [--files 100000] [--rounds 3] [--postgres URL]

The corpus (benchmarks/generate.py) is read once, so that every run meets a
warm page cache. Each round, for each target, runs as its own processes:

- the first load, into a fresh table (and a fresh ledger);
- then 1% of the files are edited (half of them same-size edits with their
  mtime put back), 0.5% added and 0.5% deleted (benchmarks/cache.py's
  change), and the nightly load runs with --prune.

DuckDB, SQLite and a local Delta Lake table always run; PostgreSQL with
--postgres (or ARTICLES_BENCH_POSTGRES). Before each load the script waits out the racy
margin (2 s), as a nightly job meets files changed hours before. The median
over the rounds counts. Nothing here asserts a time: only the ratios from one
run on one machine mean anything. The table printed at the end is the one in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cache import RACY_MARGIN_S, change, changing_corpus
from run import articles, machine, measure

Timings = dict[str, tuple[float, int]]  # "target, first|nightly" -> (seconds, peak RSS in bytes)


def targets(work: Path, postgres: str | None) -> dict[str, Callable[[int], tuple[str, str]]]:
    """target name -> (round -> (--into, --table)): a fresh table each round."""
    made: dict[str, Callable[[int], tuple[str, str]]] = {
        "DuckDB": lambda n: (str(work / f"w{n}.duckdb"), "articles"),
        "SQLite": lambda n: (str(work / f"w{n}.sqlite"), "articles"),
        "Delta Lake": lambda n: (f"delta:{work / f'lake{n}'}", "articles"),
    }
    if postgres:
        made["PostgreSQL"] = lambda n: (postgres, f"bench_{uuid.uuid4().hex[:8]}")
    return made


def one_round(
    corpus: Path, work: Path, files: list[Path], number: int, next_number: int, postgres: str | None
) -> tuple[Timings, int]:
    quiet = ("--no-progress", "--isolated")
    timings: Timings = {}
    chosen = {name: make(number) for name, make in targets(work, postgres).items()}
    for name, (into, table) in chosen.items():
        seconds, peak, _ = measure(articles("load", str(corpus), "--into", into, "--table", table, *quiet))
        timings[f"{name}, first load"] = (seconds, peak)
    next_number = change(corpus, files, number, next_number)
    time.sleep(RACY_MARGIN_S)
    for name, (into, table) in chosen.items():
        command = articles("load", str(corpus), "--into", into, "--table", table, "--prune", *quiet)
        seconds, peak, _ = measure(command)
        timings[f"{name}, nightly with --prune"] = (seconds, peak)
    return timings, next_number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("ARTICLES_BENCH_POSTGRES"))
    parser.add_argument("--work", type=Path, help="folder for the corpus and databases (default: a temporary one)")
    arguments = parser.parse_args()

    def run(corpus: Path, work: Path, files: list[Path], number: int, next_number: int) -> tuple[Timings, int]:
        return one_round(corpus, work, files, number, next_number, arguments.postgres)

    rounds = changing_corpus(arguments.work, arguments.files, arguments.rounds, "articles-load-bench-", run)
    print(table(rounds, arguments.files))


def table(rounds: list[Timings], files: int) -> str:
    names = list(rounds[0])
    seconds = {name: statistics.median(r[name][0] for r in rounds) for name in names}
    peak = {name: max(r[name][1] for r in rounds) for name in names}
    lines = [
        f"{files:,} files; median of {len(rounds)} rounds; {machine()}",
        "",
        "| Target | First load | Nightly load | Nightly of first | Peak RSS (first, nightly) |",
        "|---|---:|---:|---:|---:|",
    ]
    for target in dict.fromkeys(name.split(",")[0] for name in names):
        first, nightly = f"{target}, first load", f"{target}, nightly with --prune"
        lines.append(
            f"| {target} | {seconds[first]:.2f} s | {seconds[nightly]:.2f} s | {seconds[nightly] / seconds[first]:.0%} "
            f"| {peak[first] / 2**20:.0f} MB, {peak[nightly] / 2**20:.0f} MB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
