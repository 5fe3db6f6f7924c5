"""The same runs on a local Dask cluster (a scheduler and two worker processes) against `--jobs 2`.

    python benchmarks/cluster.py [--files 30000] [--repeat 3]

The corpus (benchmarks/generate.py) is read once to warm the page cache;
then, taking turns, validate, a Parquet export and a Parquet dataset run --repeat times each
way, and the median counts. The ratio is the cluster's overhead: shipping
chunks of paths to the workers and their results back through the
scheduler, where the process pool uses pipes. Nothing here asserts a time;
the table printed at the end is the one in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import articles, machine, measure_cpu
from storage import _free_port, _wait_for

HERE = Path(__file__).resolve().parent


def _start_cluster() -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = shutil.which("dask", path=os.path.dirname(sys.executable))
    if dask is None:
        sys.exit("the dask command is not installed: pip install '.[dask]'")
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    _wait_for(port)
    address = f"tcp://127.0.0.1:{port}"
    worker = [dask, "worker", address, "--nthreads", "1", "--no-dashboard"]
    workers = [subprocess.Popen(worker, **quiet) for _ in range(2)]
    time.sleep(5)  # the workers register
    return address, [scheduler, *workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    address, processes = _start_cluster()
    try:
        with tempfile.TemporaryDirectory() as work:
            corpus = Path(work) / "corpus"
            generate = [sys.executable, str(HERE / "generate.py"), str(corpus), "--files", str(arguments.files)]
            subprocess.run(generate, check=True)
            for path in corpus.rglob("*"):
                if path.is_file():
                    path.read_bytes()
            out = Path(work)
            quiet = ("--no-progress", "--isolated", "--no-cache")  # every turn checks every file
            dataset = ("--partition-by", "category")  # on the cluster, the workers write the part files
            commands = {
                "validate, --jobs 2": articles("validate", str(corpus), "--jobs", "2", *quiet),
                "validate, cluster": articles("validate", str(corpus), "--scheduler", address, *quiet),
                "export parquet, --jobs 2": articles(
                    "export", str(corpus), "-o", str(out / "a.parquet"), "--jobs", "2", "--overwrite", *quiet
                ),
                "export parquet, cluster": articles(
                    "export", str(corpus), "-o", str(out / "b.parquet"), "--scheduler", address, "--overwrite", *quiet
                ),
                "export dataset, --jobs 2": articles(
                    "export", str(corpus), "-o", str(out / "c"), *dataset, "--jobs", "2", "--overwrite", *quiet
                ),
                "export dataset, cluster": articles(
                    "export", str(corpus), "-o", str(out / "d"), *dataset, "--scheduler", address, "--overwrite", *quiet
                ),
            }
            seconds: dict[str, list[float]] = {name: [] for name in commands}
            cpu: dict[str, list[float]] = {name: [] for name in commands}
            for turn in range(arguments.repeat):
                for name, command in commands.items():
                    print(f"turn {turn + 1}: {name}", file=sys.stderr, flush=True)
                    wall, _, _, used = measure_cpu(command)
                    seconds[name].append(wall)
                    cpu[name].append(used)
    finally:
        for process in processes:
            process.terminate()
    median = {name: statistics.median(times) for name, times in seconds.items()}
    print(f"\n{arguments.files:,} files; {machine()}\n")
    print("| Command | Seconds | Files/s | vs --jobs 2 | Driver CPU per file | Driver's ceiling |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, value in median.items():
        local = median[name.split(",")[0] + ", --jobs 2"]
        driver = ""
        if name.endswith("cluster"):  # the driver's own CPU: the files a second one driver core could take
            per_file = statistics.median(cpu[name]) / arguments.files
            driver = f"{per_file * 1e6:.0f} µs | {1 / per_file:,.0f} files/s"
        else:
            driver = "| "
        print(f"| {name} | {value:.1f} | {arguments.files / value:,.0f} | {value / local:.2f}x | {driver} |")


if __name__ == "__main__":
    main()
