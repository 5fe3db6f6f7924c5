"""Reading a corpus from an S3-compatible server against reading it from disk, and many GETs at once against one.

    python benchmarks/storage.py [--files 10000] [--latency-ms 20] [--repeat 3]

moto's standalone server runs on loopback behind a small proxy that holds
each request for --latency-ms before passing it on, as the round trip to a
real store would (on loopback alone, a GET costs moto's own CPU, not a
round trip, and fetching many at once has nothing to hide). The corpus
(benchmarks/generate.py) is uploaded once; then, taking turns, each command
runs --repeat times and the median counts:

- validate and a Parquet export, from disk and from the bucket;
- validate from the bucket with one GET in flight per process (IN_FLIGHT = 1),
  the speed-up's baseline;
- validate from the bucket with a warm cache (filled once before the turns),
  which lists the objects and fetches none of them.

Nothing here asserts a time: only ratios from one run on one machine mean
anything. The table printed at the end is the one in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from run import articles, machine, measure

HERE = Path(__file__).resolve().parent
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
# The same command line, with one GET in flight per process: the baseline of the speed-up.
ONE_AT_A_TIME = (
    "import sys, converters.storage.s3 as s3; s3.IN_FLIGHT = 1; "
    "from converters.cli import main; sys.argv[0] = 'articles'; main()"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(port: int) -> None:
    for _ in range(300):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"nothing listens on port {port}")


class LatencyProxy:
    """Forwards loopback TCP to `upstream`, holding each chunk a client sends for `delay` seconds."""

    def __init__(self, upstream: int, delay: float) -> None:
        self.upstream, self.delay, self.port = upstream, delay, _free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._serve, daemon=True).start()
        _wait_for(self.port)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", self.port))
        self.loop.run_until_complete(server.serve_forever())

    async def _connection(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream)
        await asyncio.gather(self._pump(client_in, server_out, self.delay), self._pump(server_in, client_out, 0.0))

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, delay: float) -> None:
        try:
            while data := await source.read(65536):
                if delay:
                    await asyncio.sleep(delay)
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()


def _upload(corpus: Path, endpoint: str, bucket: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(lambda p: client.upload_file(str(p), bucket, f"corpus/{p.relative_to(corpus).as_posix()}"), files)
        )


def _commands(corpus: Path, out: Path) -> dict[str, list[str]]:
    bucket, quiet = "s3://bench/corpus/", ("--no-progress", "--isolated", "--no-cache")  # every turn fetches all
    return {
        "validate, disk": articles("validate", str(corpus), *quiet),
        "validate, bucket": articles("validate", bucket, *quiet),
        "validate, bucket, 1 GET at a time": [sys.executable, "-c", ONE_AT_A_TIME, "validate", bucket, *quiet],
        # Filled once before the turns: each turn lists the objects and fetches none (docs/cache.md).
        "validate, bucket, warm cache": articles(
            "validate", bucket, "--no-progress", "--isolated", "--cache-dir", str(out / "cache")
        ),
        "export parquet, disk": articles("export", str(corpus), "-o", str(out / "a.parquet"), "--overwrite", *quiet),
        "export parquet, bucket": articles("export", bucket, "-o", str(out / "b.parquet"), "--overwrite", *quiet),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    os.environ.update(CREDENTIALS)
    moto_port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(moto_port)
        direct = f"http://127.0.0.1:{moto_port}"
        proxy = LatencyProxy(moto_port, arguments.latency_ms / 1000)
        with tempfile.TemporaryDirectory() as work:
            corpus = Path(work) / "corpus"
            subprocess.run(
                [sys.executable, str(HERE / "generate.py"), str(corpus), "--files", str(arguments.files)], check=True
            )
            print(f"uploading {arguments.files:,} files...", file=sys.stderr, flush=True)
            _upload(corpus, direct, "bench")
            os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{proxy.port}"
            out = Path(work)
            commands = _commands(corpus, out)
            measure(commands["validate, bucket, warm cache"])  # fills the cache
            seconds: dict[str, list[float]] = {name: [] for name in commands}
            for turn in range(arguments.repeat):
                for name, command in commands.items():
                    print(f"turn {turn + 1}: {name}", file=sys.stderr, flush=True)
                    seconds[name].append(measure(command)[0])
        median = {name: statistics.median(times) for name, times in seconds.items()}
        print(f"\n{arguments.files:,} files, {arguments.latency_ms:g} ms added to each request; {machine()}\n")
        print("| Command | Seconds | Files/s | vs disk |")
        print("|---|---:|---:|---:|")
        for name, value in median.items():
            disk = median["export parquet, disk" if name.startswith("export") else "validate, disk"]
            print(f"| {name} | {value:.1f} | {arguments.files / value:,.0f} | {value / disk:.1f}x |")
        speedup = median["validate, bucket, 1 GET at a time"] / median["validate, bucket"]
        print(f"\nMany GETs at once against one at a time (validate from the bucket): {speedup:.1f}x faster")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
