"""S3 and S3-compatible stores (MinIO, Ceph, R2...), with boto3: the `s3` extra.

boto3 reads the standard configuration: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION,
AWS_PROFILE and the files under ~/.aws, and AWS_ENDPOINT_URL for a server
that is not AWS (http:// allowed). boto3 rather than pyarrow.fs: an output
must be published whole or not at all, which takes an upload that is aborted,
never completed, when anything fails, and a conditional PUT for a manifest
that only one run may publish; pyarrow's output stream publishes the partial
object when an exception leaves its `with` block.
"""

from __future__ import annotations

import collections
import contextlib
import os
import urllib.parse
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import boto3
import botocore.config
import botocore.exceptions
from boto3.exceptions import Boto3Error

from converters.storage import ABSENT, Conflict, StorageError, Uri

# GETs in flight per process: each waits a round trip, so many at once hide the latency.
IN_FLIGHT = 16
# Larger files are uploaded in parts (S3 allows at most 5 GiB in one PUT, and 10,000 parts).
PART_SIZE = 64 * 2**20
_CONFIG = botocore.config.Config(
    retries={"max_attempts": 3, "mode": "standard"},  # bounded, with back-off: no retry storm
    connect_timeout=10,
    read_timeout=60,
    max_pool_connections=IN_FLIGHT + 4,
)
_MISSING = ("NoSuchKey", "404", "NotFound")
_LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict")


def _condition(unless_changed: str | None) -> dict[str, str]:
    """A PUT's precondition: None for none, ABSENT for "only if there is no such object", else an ETag."""
    if unless_changed is None:
        return {}
    return {"IfNoneMatch": "*"} if unless_changed == ABSENT else {"IfMatch": unless_changed}


class S3Store:
    def __init__(self) -> None:
        try:
            self.client: Any = boto3.session.Session().client("s3", config=_CONFIG)
        except (botocore.exceptions.BotoCoreError, ValueError) as error:  # AWS_PROFILE, AWS_ENDPOINT_URL
            raise StorageError(f"the S3 configuration cannot be used: {error}") from error
        self._pool: ThreadPoolExecutor | None = None

    # -- reading ------------------------------------------------------------------

    def kind(self, uri: Uri) -> Literal["object", "prefix"] | None:
        if uri.key and not uri.key.endswith("/") and self.metadata(uri) is not None:
            return "object"
        with _explained(uri):
            listed = self.client.list_objects_v2(Bucket=uri.bucket, Prefix=uri.folder, MaxKeys=1)
        return "prefix" if listed.get("KeyCount", 0) else None

    def level(self, prefix: Uri) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        prefixes: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=prefix.bucket, Prefix=prefix.key, Delimiter="/"
        )
        with _explained(prefix):
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", ()))
                prefixes.extend(item["Prefix"] for item in page.get("CommonPrefixes", ()))
        return sorted(keys), sorted(prefixes)

    def read(self, uri: Uri, limit: int) -> bytes:
        try:
            answer = self.client.get_object(Bucket=uri.bucket, Key=uri.key, Range=f"bytes=0-{max(limit - 1, 0)}")
            data: bytes = answer["Body"].read()
        except botocore.exceptions.ClientError as error:
            if _code(error) == "InvalidRange":  # an empty object has no byte 0
                return b""
            raise OSError(_message(uri, error)) from error
        except botocore.exceptions.BotoCoreError as error:
            raise OSError(_message(uri, error)) from error
        return data

    def read_many(self, uris: Sequence[Uri], limit: int) -> Iterator[bytes | OSError]:
        """IN_FLIGHT GETs at a time, and never more than that many objects fetched and not yet taken."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="s3-get")
        waiting: collections.deque[Future[bytes | OSError]] = collections.deque()
        for uri in uris:
            if len(waiting) == IN_FLIGHT:
                yield waiting.popleft().result()
            waiting.append(self._pool.submit(self._read_or_error, uri, limit))
        while waiting:
            yield waiting.popleft().result()

    def _read_or_error(self, uri: Uri, limit: int) -> bytes | OSError:
        try:
            return self.read(uri, limit)
        except OSError as error:
            return error

    def download(self, uri: Uri, path: str) -> None:
        try:
            self.client.download_file(uri.bucket, uri.key, path)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, Boto3Error) as error:
            raise OSError(_message(uri, error)) from error

    def metadata(self, uri: Uri) -> dict[str, str] | None:
        found = self.head(uri)
        return found[0] if found is not None else None

    def head(self, uri: Uri) -> tuple[dict[str, str], str] | None:
        try:
            head = self.client.head_object(Bucket=uri.bucket, Key=uri.key)
        except botocore.exceptions.ClientError as error:
            if _code(error) in _MISSING:
                self.check_bucket(uri)  # a missing bucket says so, rather than "no such key"
                return None
            raise StorageError(_message(uri, error)) from error
        except botocore.exceptions.BotoCoreError as error:
            raise StorageError(_message(uri, error)) from error
        return head.get("Metadata", {}), head["ETag"]

    def check_bucket(self, uri: Uri) -> None:
        try:
            self.client.head_bucket(Bucket=uri.bucket)
        except botocore.exceptions.ClientError as error:
            if _code(error) in ("404", "NoSuchBucket", "NotFound"):
                raise StorageError(f"{uri}: bucket {uri.bucket} does not exist") from error
            raise StorageError(_message(uri, error)) from error
        except botocore.exceptions.BotoCoreError as error:
            raise StorageError(_message(uri, error)) from error

    # -- writing ------------------------------------------------------------------

    def upload(self, path: str, uri: Uri, metadata: dict[str, str], unless_changed: str | None = None) -> None:
        with open(path, "rb") as source:
            size = source.seek(0, 2)
            source.seek(0)
            with _written(uri, "this run published nothing"):
                if size <= PART_SIZE:
                    condition = _condition(unless_changed)
                    self.client.put_object(Bucket=uri.bucket, Key=uri.key, Body=source, Metadata=metadata, **condition)
                else:
                    self._upload_in_parts(source, uri, metadata)

    def _upload_in_parts(self, source: Any, uri: Uri, metadata: dict[str, str]) -> None:
        """A multipart upload, completed only once every part is in: aborted on any failure, even Ctrl-C."""
        upload = self.client.create_multipart_upload(Bucket=uri.bucket, Key=uri.key, Metadata=metadata)
        upload_id = upload["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            while chunk := source.read(PART_SIZE):
                number = len(parts) + 1
                answer = self.client.upload_part(
                    Bucket=uri.bucket, Key=uri.key, UploadId=upload_id, PartNumber=number, Body=chunk
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=uri.bucket, Key=uri.key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=uri.bucket, Key=uri.key, UploadId=upload_id)
            raise

    def keys(self, prefix: Uri) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket, Prefix=prefix.key)
        with _explained(prefix):
            for page in pages:
                yield from (item["Key"] for item in page.get("Contents", ()))

    def versions(self, uris: Sequence[Uri]) -> dict[str, tuple[int, str]]:
        keys = sorted({uri.key for uri in uris})
        wanted, found = set(keys), {}
        common = os.path.commonprefix([keys[0], keys[-1]])  # noqa: RUF071 - characters, cut back to a folder below
        prefix = common[: common.rfind("/") + 1]
        # Listing starts after the first key less its last character: at it, or a few keys before. A
        # chunk's keys are mostly neighbours, so pages of twice their number end soon after the last one.
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=uris[0].bucket,
            Prefix=prefix,
            StartAfter=keys[0][:-1],
            PaginationConfig={"PageSize": min(1000, 2 * len(keys) + 16)},
        )
        with _explained(uris[0]):
            for page in pages:
                for item in page.get("Contents", ()):
                    if item["Key"] in wanted:
                        found[item["Key"]] = (item["Size"], item["ETag"])
                    if item["Key"] >= keys[-1]:
                        return found
        return found

    def read_tagged(self, uri: Uri) -> tuple[bytes, str] | None:
        try:
            answer = self.client.get_object(Bucket=uri.bucket, Key=uri.key)
            return answer["Body"].read(), answer["ETag"]
        except botocore.exceptions.ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise StorageError(_message(uri, error)) from error
        except botocore.exceptions.BotoCoreError as error:
            raise StorageError(_message(uri, error)) from error

    def put_unless_changed(self, uri: Uri, body: bytes, tag: str | None, metadata: dict[str, str]) -> None:
        condition = _condition(tag or ABSENT)
        with _written(uri, "another run published first"):
            self.client.put_object(Bucket=uri.bucket, Key=uri.key, Body=body, Metadata=metadata, **condition)

    def abort_unfinished(self, uri: Uri) -> int:
        with _explained(uri):
            listed = self.client.list_multipart_uploads(Bucket=uri.bucket, Prefix=uri.key)
            stale = [upload for upload in listed.get("Uploads", ()) if upload["Key"] == uri.key]
            for upload in stale:
                self.client.abort_multipart_upload(Bucket=uri.bucket, Key=uri.key, UploadId=upload["UploadId"])
        return len(stale)

    def delete(self, uris: Sequence[Uri]) -> None:
        for start in range(0, len(uris), 1000):  # S3 deletes at most 1,000 keys a request
            batch = uris[start : start + 1000]
            objects = [{"Key": uri.key} for uri in batch]
            try:
                self.client.delete_objects(Bucket=batch[0].bucket, Delete={"Objects": objects, "Quiet": True})
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
                raise OSError(_message(batch[0], error)) from error


@contextlib.contextmanager
def _explained(uri: Uri) -> Iterator[None]:
    """Any client failure -> StorageError, one line naming the URI."""
    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise StorageError(_message(uri, error)) from error


@contextlib.contextmanager
def _written(uri: Uri, lost: str) -> Iterator[None]:
    """A write's failure -> OSError (exit 3), or Conflict when its precondition lost a race (`lost` says how)."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        if _code(error) in _LOST_RACE:
            raise Conflict(f"{uri} changed while this run wrote it: {lost}") from error
        raise OSError(_message(uri, error)) from error
    except botocore.exceptions.BotoCoreError as error:
        raise OSError(_message(uri, error)) from error


def _code(error: botocore.exceptions.ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(uri: Uri, error: Exception) -> str:
    """What went wrong, in the user's terms: the bucket, the credentials, the endpoint."""
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return f"{uri}: no credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        endpoint = urllib.parse.urlsplit(str(error.kwargs.get("endpoint_url", "")))
        return f"{uri}: cannot reach {endpoint.scheme}://{endpoint.netloc} (check AWS_ENDPOINT_URL)"
    if isinstance(error, botocore.exceptions.ClientError):
        code = _code(error)
        if code == "NoSuchBucket":
            return f"{uri}: bucket {uri.bucket} does not exist"
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
            return f"{uri}: the credentials were refused ({code})"
        if code in ("AccessDenied", "403", "Forbidden"):
            return f"{uri}: access denied"
        if code in _MISSING:
            return f"{uri}: does not exist"
        return f"{uri}: {code or 'error'}: {error.response.get('Error', {}).get('Message', error)}"
    return f"{uri}: {error}"
