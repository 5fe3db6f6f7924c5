"""Side-by-side throughput and memory: `articles` against the afternoon script and check-jsonschema.

    python benchmarks/run.py [--sizes 10000 30000 100000] [--compare-at 30000] [--repeat 3] [--work DIR]

For each size, a corpus is generated (benchmarks/generate.py), read once so
every command meets a warm page cache, and then each command runs as its own
process, one after the other, on the same files. The commands run --repeat
times, taking turns, so that a slow spell of a noisy machine falls on all of
them alike, and the median time counts; check-jsonschema runs once. The
baseline and check-jsonschema run only at --compare-at, where the ratios are
taken: at 1,300 and 270 files/s they would take minutes at 100,000 files.
Peak RSS is the largest of the runs. Nothing here
asserts a time: these machines are noisy, so only ratios taken in one run
mean anything. The table printed at the end is the one in the README.
"""

from __future__ import annotations

import argparse
import compileall
import functools
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parent / "schemas" / "article.schema.json"
# check-jsonschema takes its files as arguments; batches keep each command line short.
CHECK_JSONSCHEMA_BATCH = 2000


@dataclass(frozen=True)
class Timing:
    name: str
    files: int
    seconds: float
    peak_rss: int  # bytes: the largest of the process and the workers it waited for
    exit_code: int

    @property
    def rate(self) -> float:
        return self.files / self.seconds


# Each command is started from this small launcher, which times it and reports its peak RSS.
# Linux counts the memory a process had before exec in its peak RSS, and subprocess starts
# a child with vfork, sharing this process's memory: a command started straight from here
# would report this script's own peak (over 60 MB once it has walked 100,000 files).
_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as report:
    cpu = usage.ru_utime + usage.ru_stime
    report.write(f"{seconds} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)} {cpu}")
"""


def measure(command: Sequence[str], cwd: Path | None = None) -> tuple[float, int, int]:
    """-> (wall seconds, peak RSS in bytes, exit code) of one command, its output discarded."""
    seconds, peak, code, _ = measure_cpu(command, cwd)
    return seconds, peak, code


def measure_cpu(command: Sequence[str], cwd: Path | None = None) -> tuple[float, int, int, float]:
    """-> measure()'s figures, and the CPU seconds of the command's process (and of the children it waited
    for: a local run's workers, not a cluster's)."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report"
        done = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(report), *command], stderr=subprocess.PIPE, cwd=cwd, check=False
        )
        seconds_text, maxrss_text, code_text, cpu_text = report.read_text(encoding="utf-8").split()
    seconds, code = float(seconds_text), int(code_text)
    if code != 0:
        sys.stderr.write(f"{' '.join(command[:3])}... exited {code}:\n{done.stderr.decode(errors='replace')[-2000:]}\n")
    return seconds, int(maxrss_text) * 1024, code, float(cpu_text)


def articles(*args: str) -> list[str]:
    script = shutil.which("articles", path=os.path.dirname(sys.executable)) or shutil.which("articles")
    if script is None:
        sys.exit("articles is not installed in this environment: pip install '.[bench]'")
    _bytecode_compiled()
    return [script, *args]


@functools.cache
def _bytecode_compiled() -> None:
    """Compile the package's bytecode first, as pip does when it installs it. An editable install,
    under PYTHONDONTWRITEBYTECODE, would compile every module again in every run timed here: tens
    of milliseconds that no installed copy pays."""
    spec = importlib.util.find_spec("converters")
    for folder in spec.submodule_search_locations or [] if spec is not None else []:
        compileall.compile_dir(folder, quiet=1)


def run_size(files: int, work: Path, compare: bool, repeat: int) -> list[Timing]:
    corpus, plain = work / f"corpus-{files}", work / f"plain-{files}"
    if not corpus.exists():
        print(f"generating {files:,} files...", file=sys.stderr, flush=True)
        generator = [sys.executable, str(HERE / "generate.py"), str(corpus), "--files", str(files)]
        subprocess.run([*generator, *(["--plain-yaml", str(plain)] if compare else [])], check=True)
    _warm(corpus)
    out = work / "out"
    out.mkdir(exist_ok=True)
    commands: list[tuple[str, list[str]]] = [
        # Each command checks every file, every turn: the cache would make the turns after the first warm.
        ("articles validate", articles("validate", str(corpus), "--no-progress", "--no-cache")),
        ("articles export --to parquet", articles("export", str(corpus), "-o", str(out / "a.parquet"), "--no-cache")),
        ("articles export --to jsonl", articles("export", str(corpus), "-o", str(out / "a.jsonl"), "--no-cache")),
    ]
    if compare:
        commands.append(("afternoon script", [sys.executable, str(HERE / "baseline.py"), str(corpus), str(SCHEMA),
                                              str(out / "baseline.json")]))  # fmt: skip
    runs: dict[str, list[tuple[float, int, int]]] = {name: [] for name, _ in commands}
    for turn in range(1, repeat + 1):
        for name, command in commands:
            print(f"{files:,} files: {name} ({turn} of {repeat})...", file=sys.stderr, flush=True)
            runs[name].append(measure(command))
    timings = [
        Timing(
            name,
            files,
            statistics.median(seconds for seconds, _, _ in measured),
            max(peak for _, peak, _ in measured),
            max(code for _, _, code in measured),
        )
        for name, measured in runs.items()
    ]
    if compare:
        timings.append(_check_jsonschema(plain, files))
    return timings


def _check_jsonschema(plain: Path, files: int) -> Timing:
    print(f"{files:,} files: check-jsonschema...", file=sys.stderr, flush=True)
    _warm(plain)
    paths = sorted(str(p) for p in plain.rglob("*.yaml"))
    script = shutil.which("check-jsonschema", path=os.path.dirname(sys.executable)) or "check-jsonschema"
    total, peak, worst = 0.0, 0, 0
    for start in range(0, len(paths), CHECK_JSONSCHEMA_BATCH):
        batch = paths[start : start + CHECK_JSONSCHEMA_BATCH]
        seconds, rss, code = measure([script, "--schemafile", str(SCHEMA), *batch])
        total, peak, worst = total + seconds, max(peak, rss), max(worst, code)
    return Timing("check-jsonschema (plain YAML)", files, total, peak, worst)


def _warm(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def single_file(work: Path) -> list[tuple[str, float]]:
    """Median wall time of validating one file, five runs each: start-up cost."""
    sample = next((work / "single").glob("**/*.md"), None)
    if sample is None:
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(work / "single"), "--files", "1",
                        "--plain-yaml", str(work / "single-plain")], check=True)  # fmt: skip
        sample = next((work / "single").glob("**/*.md"))
    plain = next((work / "single-plain").glob("**/*.yaml"))
    script = shutil.which("check-jsonschema", path=os.path.dirname(sys.executable)) or "check-jsonschema"
    results = []
    for name, command in (
        ("articles validate (1 file)", articles("validate", str(sample), "--no-progress", "--no-cache")),
        ("check-jsonschema (1 file)", [script, "--schemafile", str(SCHEMA), str(plain)]),
    ):
        runs = [measure(command)[0] for _ in range(5)]
        results.append((name, statistics.median(runs)))
    return results


def table(timings: list[Timing], compare_at: int) -> str:
    reference = {t.name: t for t in timings if t.files == compare_at}
    baseline = reference.get("afternoon script")
    checker = reference.get("check-jsonschema (plain YAML)")
    validate = {t.files: t for t in timings if t.name == "articles validate"}
    lines = [
        "| Files | Command | Seconds | Files/s | vs afternoon script | vs check-jsonschema "
        "| / validate time | Peak RSS |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        versus_baseline = f"{t.rate / baseline.rate:.1f}x" if baseline and t.files == compare_at else ""
        versus_checker = f"{t.rate / checker.rate:.1f}x" if checker and t.files == compare_at else ""
        own = validate.get(t.files)
        versus_validate = f"{t.seconds / own.seconds:.2f}" if own and t.name.startswith("articles export") else ""
        failed = "" if t.exit_code == 0 else f" (exit {t.exit_code})"
        lines.append(
            f"| {t.files:,} | {t.name}{failed} | {t.seconds:.1f} | {t.rate:,.0f} | {versus_baseline} | "
            f"{versus_checker} | {versus_validate} | {t.peak_rss / 2**20:,.0f} MB |"
        )
    return "\n".join(lines)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--compare-at", type=int, default=30_000, help="the size where the baselines run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command, taking turns; the median counts")
    parser.add_argument("--work", type=Path, help="keep corpora here between runs (default: a temporary folder)")
    arguments = parser.parse_args()
    sizes = sorted(set(arguments.sizes) | {arguments.compare_at})
    with tempfile.TemporaryDirectory(prefix="articles-bench-") as temporary:
        work = arguments.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        timings = [t for size in sizes for t in run_size(size, work, size == arguments.compare_at, arguments.repeat)]
        start_up = single_file(work)
    print(f"Machine: {machine()}\n")
    print(table(timings, arguments.compare_at))
    print()
    for name, seconds in start_up:
        print(f"- {name}: {seconds:.2f} s (median of 5)")


if __name__ == "__main__":
    main()
