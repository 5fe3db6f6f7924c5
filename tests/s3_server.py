"""A real S3-compatible server on loopback for the tests, and a bucket of their own for each test.

The server is moto's standalone server, started from the test environment by
the first test that needs it and stopped with the test session; or, when
ARTICLES_TEST_S3 gives an endpoint (MinIO, a server CI started), that one.
Without either, the tests that need it skip, except in CI (CI set, or
ARTICLES_REQUIRE_S3=1), where they fail: CI must run them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# moto accepts any credentials; botocore needs some, and a region.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def required() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")
    return ci or os.environ.get("ARTICLES_REQUIRE_S3") == "1"


def _missing(reason: str) -> None:
    if required():
        pytest.fail(f"{reason} (CI runs the object storage tests: they may not skip)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_listening(port: int, server: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto's server exited with {server.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"moto's server did not listen on port {port} within {seconds} s")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of a running S3-compatible server."""
    given = os.environ.get("ARTICLES_TEST_S3")
    if given:
        yield given
        return
    try:
        import moto.server  # noqa: F401 - only to know that it can start
    except ImportError as error:
        _missing(f"no S3 server: moto's server is not installed ({error.name} is missing)")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


class Bucket:
    """A fresh bucket on the test server, and plain boto3 calls to fill and inspect it."""

    def __init__(self, endpoint: str, name: str | None = None) -> None:
        import boto3

        self.name = name or f"test-{uuid.uuid4().hex[:16]}"
        self.client: Any = boto3.session.Session().client("s3", endpoint_url=endpoint, **_boto_credentials())
        self.client.create_bucket(Bucket=self.name)

    def uri(self, key: str = "") -> str:
        return f"s3://{self.name}/{key}"

    def put(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=body, Metadata=metadata or {})

    def upload_folder(self, folder: Path, prefix: str) -> None:
        """Every file under `folder`, at `prefix` + its path relative to the folder."""
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.put(prefix + path.relative_to(folder).as_posix(), path.read_bytes())

    def get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return data

    def metadata(self, key: str) -> dict[str, str]:
        found: dict[str, str] = self.client.head_object(Bucket=self.name, Key=key)["Metadata"]
        return found

    def listed(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    def unfinished_uploads(self) -> list[str]:
        return [u["Key"] for u in self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", ())]


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_REGION"],
    }


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A bucket of this test's own, with the environment set as a user sets it (AWS_ENDPOINT_URL...)."""
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return Bucket(s3_endpoint)
