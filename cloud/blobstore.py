"""Content-addressed storage of image bytes, named by their SHA-256.

A blob is put once, from a file whose hash was already verified, and never modified.
Backends: a local folder (the embedded default) and an S3-compatible object store.

Both keep the images encrypted at rest, so that a copied disk or bucket does not
reveal them. The folder seals each blob (app.platform.sealed: AES-256-GCM segments
under a random data key of the blob's own, wrapped with the server's master key in the
blob's header) and reads it back through a decrypting stream; the name and `size` stay
those of the plaintext, and blobs written before a key was set are read as they are.
A new master key is taken on by re-wrapping each blob's data key (`rewrap_old`, in the
server's sweep), so the old key can then be dropped. S3 encrypts server-side with the
operator's KMS key or their own key (SSE-C).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from app.platform import sealed
from cloud.blob_key import blob_key
from cloud.blob_key import key_of as _key_of
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

    def put_stream(self, sha256: str, src: BinaryIO) -> None:
        """Store the verified bytes read from `src` (an upload's part file, decrypted as
        it is read) under `sha256`; hashed again on the way."""

    def open(self, sha256: str) -> BinaryIO:
        """The blob's bytes as a stream; FileNotFoundError if there is no such blob."""

    def size(self, sha256: str) -> int | None:
        """The blob's length in bytes; None if there is no such blob."""

    def delete(self, sha256: str) -> None:
        """Remove the blob; nothing happens if there is no such blob."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemBlobStore:
    """Blobs as files `<root>/ab/cd/abcd…`, written temp → fsync → rename; sealed with
    `key` when one is given (`old_keys` only read older blobs)."""

    def __init__(self, root: Path, key: bytes | None = None,
                 old_keys: tuple[bytes, ...] = ()) -> None:
        self.root = root
        self.key = key
        for k in (*old_keys, *([key] if key is not None else [])):
            sealed.remember(k)
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return sealed.plain_size(self.path(sha256))
        except FileNotFoundError:
            return None

    def open(self, sha256: str) -> BinaryIO:
        """The plaintext, decrypted as it is read (seekable; nothing written to disk);
        buffered, so that every read gives bytes as a file's does."""
        stream = sealed.open_read(self.path(sha256))
        if isinstance(stream, io.RawIOBase):
            return io.BufferedReader(stream, buffer_size=256 * 1024)
        return stream

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def put_file(self, sha256: str, path: Path) -> None:
        dst = self.path(sha256)
        if dst.is_file():
            path.unlink(missing_ok=True)
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        if self.key is not None:
            self._seal(sha256, path, dst)
            return
        try:
            os.replace(path, dst)  # same file system: the verified file moves in place
        except OSError:
            tmp = dst.with_name(dst.name + f".{os.getpid()}.tmp")
            try:
                with open(path, "rb") as src, open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out, 1024 * 1024)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, dst)
            except BaseException:  # a full disk leaves no half-copied blob
                tmp.unlink(missing_ok=True)
                raise
            path.unlink(missing_ok=True)
        os.chmod(dst, 0o440)
        _fsync_dir(dst.parent)

    def put_stream(self, sha256: str, src: BinaryIO) -> None:
        dst = self.path(sha256)
        if dst.is_file():
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        if self.key is not None:
            self._seal_stream(sha256, src, dst)
            return
        tmp = dst.with_name(dst.name + f".{os.getpid()}.tmp")
        h = hashlib.sha256()
        try:
            with open(tmp, "wb") as out:
                while block := src.read(1024 * 1024):
                    h.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if h.hexdigest() != sha256:
                raise BlobStoreError(f"the file to store as {sha256} has another SHA-256")
            os.chmod(tmp, 0o440)
            os.replace(tmp, dst)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(dst.parent)

    def put_sealed(self, sha256: str, path: Path) -> bool:
        """Move in a verified file already sealed under this store's key (an upload's
        part); False, and the file left, when it is not one or lies elsewhere."""
        with open(path, "rb") as f:
            if self.key is None or f.read(16) != sealed.MAGIC + sealed.key_id(self.key):
                return False
        dst = self.path(sha256)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o440)
        try:
            os.replace(path, dst)
        except OSError:  # another file system
            os.chmod(path, 0o600)
            return False
        _fsync_dir(dst.parent)
        return True

    def seal_plain(self, budget_s: float = 30.0) -> tuple[int, int]:
        """Seal, for about `budget_s`, blobs stored before the store had a key: each is
        hashed again, sealed beside itself and renamed over itself, so a reader holding
        it open goes on reading. One whose bytes do not match its name is left as it
        is (and logged by the caller). Returns (sealed, still plain)."""
        if self.key is None:
            return 0, 0
        import time

        end = time.monotonic() + budget_s
        done = left = 0
        for stale in self.root.glob("??/??/*.plain"):  # links left by a cut-off pass
            stale.unlink(missing_ok=True)
        for path in self.root.glob("??/??/*"):
            if not _SHA256.match(path.name) or not path.is_file() or sealed.is_sealed(path):
                continue
            if time.monotonic() >= end:
                left += 1
                continue
            copy = path.with_name(path.name + f".{os.getpid()}.plain")
            with suppress(FileExistsError):
                os.link(path, copy)  # the plaintext stays until the sealed blob is in
            try:
                self._seal(path.name, copy, path)
                done += 1
            except BlobStoreError:
                copy.unlink(missing_ok=True)
                left += 1
        return done, left

    def rewrap_old(self, budget_s: float = 30.0) -> tuple[int, int]:
        """Re-wrap, for about `budget_s`, the data keys of blobs sealed under an older
        master key (or in the first format), so that they open with the current key
        alone. Returns (re-wrapped, still under an old key)."""
        if self.key is None:
            return 0, 0
        import time

        end = time.monotonic() + budget_s
        current = sealed.MAGIC + sealed.key_id(self.key)
        done = left = 0
        for path in self.root.glob("??/??/*"):
            if not _SHA256.match(path.name) or not path.is_file():
                continue
            with open(path, "rb") as f:
                head = f.read(len(current))
            if head == current or not sealed.is_sealed(path):
                continue
            if time.monotonic() >= end:
                left += 1
                continue
            try:
                sealed.rewrap(path, self.key)
                done += 1
            except sealed.KeyUnavailableError:
                left += 1  # its key is not among the old keys given: read it never
        return done, left

    def _seal(self, sha256: str, path: Path, dst: Path) -> None:
        """Encrypt the verified file into place, hashing its plaintext once more on the
        way; the plaintext file goes only once the sealed blob is there."""
        with open(path, "rb") as src:
            self._seal_stream(sha256, src, dst)
        path.unlink(missing_ok=True)

    def _seal_stream(self, sha256: str, src: BinaryIO, dst: Path) -> None:
        assert self.key is not None
        tmp = dst.with_name(dst.name + f".{os.getpid()}.tmp")
        h = hashlib.sha256()
        try:
            # Each block is hashed on a worker while it is sealed and written here
            # (hashlib lets go of the GIL): the store of a large upload takes one pass.
            with open(tmp, "wb") as out, ThreadPoolExecutor(1) as hasher:
                writer = sealed.SealWriter(out, self.key)
                while block := src.read(1024 * 1024):
                    hashed = hasher.submit(h.update, block)
                    writer.write(block)
                    hashed.result()
                writer.close()
                out.flush()
                os.fsync(out.fileno())
            if h.hexdigest() != sha256:
                raise BlobStoreError(f"the file to store as {sha256} has another SHA-256")
            os.chmod(tmp, 0o440)
            os.replace(tmp, dst)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(dst.parent)


class BlobStoreError(RuntimeError):
    """The blob store could not do what was asked (not: the blob is missing)."""


_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part but the last


class _Body(io.RawIOBase):
    """An S3 response body as a raw stream, so it can be buffered like a file."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3BlobStore:
    """Blobs as objects `<prefix><sha256>` in an S3-compatible bucket.

    Credentials come from the usual AWS variables or files, read by boto3 itself. A
    file is sent in parts of `part_bytes` (multipart upload), so no more than one part
    is held in memory; every part carries its SHA-256, checked by the store, and the
    whole file is hashed on the way and must match its key before the upload is
    completed. A missing blob answers as in `FilesystemBlobStore`: `has` is False,
    `size` None, `open` raises FileNotFoundError and `delete` does nothing.
    """

    def __init__(self, *, bucket: str, prefix: str = "", client: Any = None,
                 endpoint_url: str = "", region: str = "",
                 part_bytes: int = 8 * 1024 * 1024, kms_key_id: str = "",
                 customer_key: bytes | None = None) -> None:
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        if kms_key_id and customer_key is not None:
            raise ValueError("set either an S3 KMS key or an S3 customer key, not both")
        if customer_key is not None and len(customer_key) != 32:
            raise ValueError("an S3 customer key (SSE-C) is 32 bytes")
        # Sent with every write (SSE-KMS) or with every request naming an object's
        # content (SSE-C: S3 needs the key again to read it); boto3 adds its MD5.
        self.write_sse: dict[str, str | bytes] = {}
        self.read_sse: dict[str, str | bytes] = {}
        if kms_key_id:
            self.write_sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
        elif customer_key is not None:
            self.read_sse = {"SSECustomerAlgorithm": "AES256",
                             "SSECustomerKey": customer_key}
            self.write_sse = dict(self.read_sse)
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES}")
        if client is None:
            import boto3  # imported here: the filesystem store does without it
            from botocore.config import Config

            client = boto3.client(
                "s3", endpoint_url=endpoint_url or None, region_name=region or None,
                config=Config(retries={"mode": "standard", "max_attempts": 5}),
            )
        self.client = client
        self.bucket = bucket
        prefix = prefix.lstrip("/")
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.part_bytes = part_bytes

    def key(self, sha256: str) -> str:
        return self.prefix + check_sha256(sha256)

    def _error(self, action: str, key: str, exc: Exception) -> BlobStoreError:
        err = getattr(exc, "response", {}).get("Error", {})
        code, message = err.get("Code"), err.get("Message")
        detail = f"{code}: {message}" if code else f"{type(exc).__name__}: {exc}"
        hint = ""
        if code == "NoSuchBucket":
            hint = " (check CHAIRSIDE_CLOUD_S3_BUCKET)"
        elif code in ("403", "AccessDenied"):
            hint = " (check the credentials and the bucket's policy)"
        return BlobStoreError(f"S3 {action} of s3://{self.bucket}/{key} failed: {detail}{hint}")

    @contextmanager
    def _call(self, action: str, key: str) -> Iterator[None]:
        """Turn botocore's errors into BlobStoreError; a missing key into FileNotFoundError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(f"no blob s3://{self.bucket}/{key}") from exc
            raise self._error(action, key, exc) from exc
        except BotoCoreError as exc:
            raise self._error(action, key, exc) from exc

    def size(self, sha256: str) -> int | None:
        key = self.key(sha256)
        try:
            with self._call("HEAD", key):
                head = self.client.head_object(Bucket=self.bucket, Key=key,
                                               **self.read_sse)
        except FileNotFoundError:
            return None
        return int(head["ContentLength"])

    def has(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def open(self, sha256: str) -> BinaryIO:
        """The blob as a buffered stream, read from the store as it is consumed."""
        key = self.key(sha256)
        with self._call("GET", key):
            obj = self.client.get_object(Bucket=self.bucket, Key=key, **self.read_sse)
        return io.BufferedReader(_Body(obj["Body"]), buffer_size=256 * 1024)

    def delete(self, sha256: str) -> None:
        key = self.key(sha256)
        with self._call("DELETE", key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def put_file(self, sha256: str, path: Path) -> None:
        key = self.key(sha256)
        if not self.has(sha256):
            with open(path, "rb") as src:
                self._upload(sha256, key, src)
        path.unlink(missing_ok=True)

    def put_stream(self, sha256: str, src: BinaryIO) -> None:
        key = self.key(sha256)
        if not self.has(sha256):
            self._upload(sha256, key, src)

    def _upload(self, sha256: str, key: str, src: BinaryIO) -> None:
        first = _read_part(src, self.part_bytes)
        if len(first) < self.part_bytes:  # all of it: one request, checked whole
            if hashlib.sha256(first).hexdigest() != sha256:
                raise BlobStoreError(f"the file to store as {sha256} has another SHA-256")
            with self._call("PUT", key):
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=first,
                    ChecksumSHA256=_b64(bytes.fromhex(sha256)), **self.write_sse,
                )
            return
        with self._call("multipart upload", key):
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", **self.write_sse,
            )["UploadId"]
        try:
            whole = hashlib.sha256()
            parts: list[dict[str, Any]] = []
            chunk = first
            while chunk:
                whole.update(chunk)
                number = len(parts) + 1
                checksum = _b64(hashlib.sha256(chunk).digest())
                with self._call(f"upload of part {number}", key):
                    answer = self.client.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                        Body=chunk, ChecksumSHA256=checksum, **self.read_sse,
                    )
                parts.append({"PartNumber": number, "ETag": answer["ETag"],
                              "ChecksumSHA256": checksum})
                chunk = _read_part(src, self.part_bytes)
            if whole.hexdigest() != sha256:
                raise BlobStoreError(f"the file to store as {sha256} has another SHA-256")
            with self._call("completion of the multipart upload", key):
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id,
                    MultipartUpload={"Parts": parts}, **self.read_sse,
                )
        except BaseException:
            with suppress(Exception):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise


def _read_part(src: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes (fewer only at the end), in reads of at most 1 MiB."""
    chunks: list[bytes] = []
    got = 0
    while got < size:
        data = src.read(min(size - got, 1024 * 1024))
        if not data:
            break
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def make_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("CHAIRSIDE_CLOUD_S3_BUCKET is required when "
                             "CHAIRSIDE_CLOUD_BLOB_STORE=s3")
        customer = settings.s3_sse_customer_key
        return S3BlobStore(
            bucket=settings.s3_bucket, prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
            kms_key_id=settings.s3_kms_key_id,
            customer_key=_key_of(customer, "CHAIRSIDE_CLOUD_S3_SSE_CUSTOMER_KEY")
            if customer else None,
        )
    old = tuple(_key_of(k.strip(), "CHAIRSIDE_CLOUD_BLOB_OLD_KEYS")
                for k in settings.blob_old_keys.split(",") if k.strip())
    return FilesystemBlobStore(settings.resolved_blob_dir, blob_key(settings), old)
