"""The S3-compatible blob store against moto's in-process S3, and the contract it shares
with the filesystem store."""

from __future__ import annotations

import base64
import builtins
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from app.platform import sealed
from cloud import blobstore
from cloud.blobstore import (
    MIN_PART_BYTES,
    BlobStore,
    BlobStoreError,
    FilesystemBlobStore,
    S3BlobStore,
    make_blob_store,
)
from cloud.config import Settings
from tests.unit.cloud.support import PC
from tests.unit.cloud.test_tus import create, patch

BUCKET = "chairside-test"
REGION = "eu-central-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's S3 with one empty bucket; a client to look at it directly."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET,
                         CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


@pytest.fixture
def s3_store(aws: Any) -> S3BlobStore:
    return S3BlobStore(bucket=BUCKET, prefix="blobs/", region=REGION,
                       part_bytes=MIN_PART_BYTES)


@pytest.fixture(params=["filesystem", "sealed folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    if request.param == "sealed folder":
        return FilesystemBlobStore(tmp_path / "blobs", key=sealed.new_key())
    s3: S3BlobStore = request.getfixturevalue("s3_store")
    return s3


def _file(tmp_path: Path, data: bytes, name: str = "upload.part") -> tuple[str, Path]:
    path = tmp_path / name
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


def _keys(aws: Any) -> list[str]:
    return [o["Key"] for o in aws.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


class _CountingReader:
    """A file that remembers the largest read asked of it and the bytes it gave."""

    def __init__(self, f: Any) -> None:
        self._f = f
        self.max_read = 0
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        self.max_read = max(self.max_read, size if size >= 0 else 1 << 62)
        data = self._f.read(size)
        self.total += len(data)
        return bytes(data)

    def __enter__(self) -> _CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


# -- the contract, on both backends -------------------------------------------------

def test_contract_put_read_dedupe_delete(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(70_000)
    sha, path = _file(tmp_path, data)
    assert not store.has(sha) and store.size(sha) is None
    store.put_file(sha, path)
    assert not path.exists()  # the verified file is consumed
    assert store.has(sha) and store.size(sha) == len(data)
    with store.open(sha) as f:
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]
    again, path2 = _file(tmp_path, data, "again.part")
    store.put_file(again, path2)
    assert not path2.exists() and store.size(sha) == len(data)
    store.delete(sha)
    assert not store.has(sha) and store.size(sha) is None
    store.delete(sha)  # deleting what is not there is no error


def test_contract_missing_blob(store: BlobStore) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert store.has(sha) is False
    assert store.size(sha) is None
    with pytest.raises(FileNotFoundError):
        store.open(sha)
    store.delete(sha)


@pytest.mark.parametrize("bad", ["", "ABC", "0" * 63, "G" * 64, "../" + "0" * 61])
def test_contract_refuses_what_is_not_a_sha256(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError):
        store.has(bad)
    with pytest.raises(ValueError):
        store.open(bad)


def test_contract_empty_blob(store: BlobStore, tmp_path: Path) -> None:
    sha, path = _file(tmp_path, b"")
    store.put_file(sha, path)
    assert store.size(sha) == 0
    with store.open(sha) as f:
        assert f.read() == b""


# -- S3 specifics -------------------------------------------------------------------

def test_a_large_file_is_streamed_in_parts(
    s3_store: S3BlobStore, aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = os.urandom(2 * MIN_PART_BYTES + 123_457)
    sha, path = _file(tmp_path, data)
    readers: list[_CountingReader] = []

    def counting_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = builtins.open(file, mode, *args, **kwargs)  # noqa: SIM115 - handed to the caller
        if Path(file) == path:
            readers.append(_CountingReader(f))
            return readers[-1]
        return f

    monkeypatch.setattr(blobstore, "open", counting_open, raising=False)
    s3_store.put_file(sha, path)

    (reader,) = readers
    assert reader.total == len(data)
    assert reader.max_read <= 1024 * 1024 < len(data)  # never the whole file at once
    assert not path.exists()
    assert _keys(aws) == [f"blobs/{sha}"]
    head = aws.head_object(Bucket=BUCKET, Key=f"blobs/{sha}")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    assert s3_store.size(sha) == len(data)
    got = hashlib.sha256()
    read = bytearray()
    with s3_store.open(sha) as f:
        while chunk := f.read(300_000):
            got.update(chunk)
            read += chunk
    assert got.hexdigest() == sha and bytes(read) == data


def test_the_same_bytes_are_stored_once(
    s3_store: S3BlobStore, aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = os.urandom(MIN_PART_BYTES + 10)
    sha, path = _file(tmp_path, data)
    s3_store.put_file(sha, path)
    sent: list[str] = []
    monkeypatch.setattr(s3_store, "_upload", lambda *a: sent.append(a[1]))
    _, path2 = _file(tmp_path, data, "second.part")
    s3_store.put_file(sha, path2)
    assert sent == [] and not path2.exists()
    assert _keys(aws) == [f"blobs/{sha}"]


@pytest.mark.parametrize("length", [1000, MIN_PART_BYTES + 1000])
def test_bytes_that_do_not_match_their_key_are_not_stored(
    s3_store: S3BlobStore, aws: Any, tmp_path: Path, length: int,
) -> None:
    data = os.urandom(length)
    sha = hashlib.sha256(b"something else").hexdigest()
    path = tmp_path / "upload.part"
    path.write_bytes(data)
    with pytest.raises(BlobStoreError, match="another SHA-256"):
        s3_store.put_file(sha, path)
    assert path.exists()  # kept: the upload can be retried
    assert _keys(aws) == []
    assert aws.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_missing_bucket_is_a_clear_error(aws: Any, tmp_path: Path) -> None:
    store = S3BlobStore(bucket="no-such-bucket", region=REGION)
    sha, path = _file(tmp_path, b"x")
    with pytest.raises(BlobStoreError, match=r"s3://no-such-bucket/.*NoSuchBucket"):
        store.put_file(sha, path)
    assert path.exists()


def test_prefix_is_a_folder_and_settings_choose_the_store(aws: Any, tmp_path: Path) -> None:
    sha = "a" * 64
    assert S3BlobStore(bucket=BUCKET, prefix="blobs", region=REGION).key(sha) == f"blobs/{sha}"
    assert S3BlobStore(bucket=BUCKET, region=REGION).key(sha) == sha
    settings = Settings(data_dir=tmp_path, blob_store="s3", s3_bucket=BUCKET,
                        s3_region=REGION)
    store = make_blob_store(settings)
    assert isinstance(store, S3BlobStore) and store.key(sha) == f"blobs/{sha}"
    with pytest.raises(ValueError, match="CHAIRSIDE_CLOUD_S3_BUCKET"):
        make_blob_store(Settings(data_dir=tmp_path, blob_store="s3"))


# -- a whole tus upload through the cloud, stored in S3 ---------------------------

@pytest.fixture
def settings(tmp_path: Path, aws: Any) -> Settings:
    return Settings(data_dir=tmp_path / "cloud", database_url=f"sqlite:///{tmp_path / 'c.db'}",
                    password_mail_interval_s=0, max_upload_bytes=64 * 1024 * 1024,
                    blob_store="s3", s3_bucket=BUCKET, s3_region=REGION)


def test_a_tus_upload_lands_in_s3_under_its_hash(
    client: TestClient, pc: PC, settings: Settings, aws: Any,
) -> None:
    assert isinstance(client.app.state.blobs, S3BlobStore)  # type: ignore[attr-defined]
    data = os.urandom(9 * 1024 * 1024)  # more than one part of the default size
    sha = hashlib.sha256(data).hexdigest()
    url = create(pc, data).headers["Location"]
    half = len(data) // 2
    assert patch(pc, url, data[:half], 0).status_code == 204
    r = patch(pc, url, data[half:], half)
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    assert _keys(aws) == [f"blobs/{sha}"]
    body = aws.get_object(Bucket=BUCKET, Key=f"blobs/{sha}")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha
    assert list(settings.uploads_dir.glob("*.part")) == []
    again = create(pc, data, filename="again.dcm", ask=True)
    assert again.headers["Chairside-Already-Stored"] == "true"


# -- encryption at rest with the operator's key -------------------------------------

def _put(store: S3BlobStore, tmp_path: Path, length: int) -> tuple[str, bytes]:
    data = os.urandom(length)
    sha, path = _file(tmp_path, data)
    store.put_file(sha, path)
    return sha, data


@pytest.mark.parametrize("length", [1000, MIN_PART_BYTES + 1000])
def test_objects_are_encrypted_with_the_operators_kms_key(
    aws: Any, tmp_path: Path, length: int,
) -> None:
    kms_key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    settings = Settings(data_dir=tmp_path, blob_store="s3", s3_bucket=BUCKET,
                        s3_region=REGION, s3_kms_key_id=kms_key)
    store = make_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    store.part_bytes = MIN_PART_BYTES
    sha, _data = _put(store, tmp_path, length)
    head = aws.head_object(Bucket=BUCKET, Key=f"blobs/{sha}")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", kms_key)
    with store.open(sha) as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha


@pytest.mark.parametrize("length", [1000, MIN_PART_BYTES + 1000])
def test_every_request_for_an_object_carries_the_operators_own_key(
    aws: Any, tmp_path: Path, length: int,
) -> None:
    """SSE-C: S3 keeps no copy of the key, so it goes with every write and read (moto
    does not encrypt: what is checked is what goes over the wire)."""
    key = os.urandom(32)
    settings = Settings(data_dir=tmp_path, blob_store="s3", s3_bucket=BUCKET,
                        s3_region=REGION,
                        s3_sse_customer_key=base64.b64encode(key).decode())
    store = make_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    store.part_bytes = MIN_PART_BYTES
    sent: list[tuple[str, dict[str, str]]] = []

    def seen(request: Any, **_kw: Any) -> None:
        sent.append((request.method, {k.lower(): v.decode() if isinstance(v, bytes) else v
                                      for k, v in request.headers.items()}))

    store.client.meta.events.register("before-send.s3", seen)
    sha, data = _put(store, tmp_path, length)
    assert store.size(sha) == length
    with store.open(sha) as f:
        assert f.read() == data
    md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    object_requests = [h for m, h in sent if m != "DELETE"]
    assert len(object_requests) >= 3 + (3 if length > MIN_PART_BYTES else 0)
    for headers in object_requests:
        assert headers["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
        assert headers["x-amz-server-side-encryption-customer-key-md5"] == md5
    store.delete(sha)


def test_encryption_settings_are_checked_without_showing_the_key(tmp_path: Path) -> None:
    both = Settings(data_dir=tmp_path, blob_store="s3", s3_bucket=BUCKET, s3_region=REGION,
                    s3_kms_key_id="alias/chairside",
                    s3_sse_customer_key=base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(ValueError, match="not both"):
        make_blob_store(both)
    short = Settings(data_dir=tmp_path, blob_store="s3", s3_bucket=BUCKET, s3_region=REGION,
                     s3_sse_customer_key="c2VjcmV0")
    with pytest.raises(ValueError, match="CHAIRSIDE_CLOUD_S3_SSE_CUSTOMER_KEY") as refused:
        make_blob_store(short)
    assert "c2VjcmV0" not in str(refused.value)
    assert "c2VjcmV0" not in repr(short)
