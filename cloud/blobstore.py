"""Content-addressed storage of image bytes, named by their SHA-256.

A blob is put once, from a file whose hash was already verified, and never modified.
Backends: a local folder (the embedded default) and an S3-compatible object store.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cloud.config import Settings

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise ValueError("not a lowercase hex SHA-256")
    return sha256


class BlobStore(Protocol):
    def has(self, sha256: str) -> bool: ...

    def put_file(self, sha256: str, path: Path) -> None:
        """Store the verified file at `path` under `sha256`; the file is consumed."""

    def open(self, sha256: str) -> BinaryIO: ...

    def size(self, sha256: str) -> int | None: ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemBlobStore:
    """Blobs as files `<root>/ab/cd/abcd…`, written temp → fsync → rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def put_file(self, sha256: str, path: Path) -> None:
        dst = self.path(sha256)
        if dst.is_file():
            path.unlink(missing_ok=True)
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, dst)  # same file system: the verified file moves in place
        except OSError:
            tmp = dst.with_name(dst.name + f".{os.getpid()}.tmp")
            with open(path, "rb") as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dst)
            path.unlink(missing_ok=True)
        os.chmod(dst, 0o440)
        _fsync_dir(dst.parent)


class S3BlobStore:
    """Blobs as objects `<prefix><sha256>` in an S3-compatible bucket (needs boto3).

    Credentials come from the usual AWS variables or files, read by boto3 itself.
    """

    def __init__(self, *, bucket: str, prefix: str = "", client: Any = None,
                 endpoint_url: str = "", region: str = "") -> None:
        if client is None:
            import boto3  # optional dependency: only this backend needs it

            client = boto3.client(
                "s3", endpoint_url=endpoint_url or None, region_name=region or None
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def key(self, sha256: str) -> str:
        return self.prefix + check_sha256(sha256)

    def size(self, sha256: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except Exception as exc:  # botocore's ClientError, without importing botocore
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def has(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def open(self, sha256: str) -> BinaryIO:
        obj = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        body: BinaryIO = obj["Body"]
        return body

    def put_file(self, sha256: str, path: Path) -> None:
        if not self.has(sha256):
            self.client.upload_file(
                str(path), self.bucket, self.key(sha256),
                ExtraArgs={"ChecksumAlgorithm": "SHA256"},
            )
        path.unlink(missing_ok=True)


def make_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("CHAIRSIDE_CLOUD_S3_BUCKET is required for the s3 blob store")
        return S3BlobStore(
            bucket=settings.s3_bucket, prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
        )
    return FilesystemBlobStore(settings.resolved_blob_dir)
