"""Uploads resumable on any node: two real cloud processes on one PostgreSQL, one
shared folder for uploads in progress and one S3 bucket (moto's server). An upload
begun on one process is resumed on the other; the image is stored once, whole."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, text
from tusclient import client as tus_client

from app.core.ids import new_id
from sync_agent.tus_client import FileSlice, TusClient
from tests.integration.cloud.conftest import Server, free_port, start_server, stop_server
from tests.integration.cloud.test_tus_clients import _start_raw_patch, _try_head
from tests.support.waiting import wait_until
from tests.unit.cloud.support import PC, database_url, register_pc, register_practice

REGION = "eu-central-1"
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Fleet:
    servers: list[Server]
    s3: Any
    bucket: str
    pc: PC
    database_url: str


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": REGION}
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    # moto keeps its buckets in this test process: a bucket of each test's own.
    bucket = f"chairside-{secrets.token_hex(6)}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    try:
        with database_url("postgresql", tmp_path) as url:
            env = {"DATABASE_URL": url, "CHAIRSIDE_CLOUD_BLOB_STORE": "s3",
                   "CHAIRSIDE_CLOUD_S3_BUCKET": bucket,
                   "CHAIRSIDE_CLOUD_S3_ENDPOINT_URL": endpoint,
                   "CHAIRSIDE_CLOUD_S3_REGION": REGION,
                   "CHAIRSIDE_CLOUD_UPLOAD_DIR": str(tmp_path / "shared-uploads"),
                   "CHAIRSIDE_CLOUD_BLOB_KEY": base64.b64encode(
                       secrets.token_bytes(32)).decode()}
            servers = [start_server(tmp_path / "one", env)]
            try:
                servers.append(start_server(tmp_path / "two", env))
                with httpx.Client(base_url=servers[0].url, timeout=60) as http:
                    pc = register_pc(http, *register_practice(http, servers[0].mail_dir))
                    yield Fleet(servers, s3, bucket, pc, url)
            finally:
                for srv in servers:
                    stop_server(srv)
    finally:
        moto.stop()


def _meta(data: bytes) -> dict[str, str]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "patient_id": new_id(),
            "kind": "intraoral_scan", "filename": "scan.stl"}


def _on(server: Server, url: str) -> str:
    """The same upload, addressed to another process."""
    return server.url + "/files/" + url.rstrip("/").rsplit("/", 1)[1]


def _stored(fleet: Fleet, sha: str) -> tuple[list[str], str]:
    """The objects in the bucket, and the SHA-256 of the one under `sha`; no multipart
    upload is left unfinished (a half copy)."""
    s3, bucket = fleet.s3, fleet.bucket
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    body = s3.get_object(Bucket=bucket, Key=f"blobs/{sha}")["Body"].read()
    return keys, hashlib.sha256(body).hexdigest()


def test_an_agent_upload_begun_on_one_node_finishes_on_the_other(
        fleet: Fleet, tmp_path: Path) -> None:
    one, two = fleet.servers
    data = os.urandom(3 * 1024 * 1024 + 4321)
    path = tmp_path / "scan.stl"
    path.write_bytes(data)
    meta = _meta(data)
    fd = os.open(path, os.O_RDONLY)
    first, second = TusClient(one.url, fleet.pc.token), TusClient(two.url, fleet.pc.token)
    try:
        created = first.create(len(data), meta)
        assert created.offset == 0 and not created.already_stored
        half = 1024 * 1024 + 17
        assert first.patch(created.url, FileSlice(fd, 0, half), final=False) == half
        # The agent is sent to the other process: it asks the offset there, goes on there.
        there = _on(two, created.url)
        assert second.head(there).offset == half
        rest = len(data) - half
        assert second.patch(there, FileSlice(fd, half, rest), final=True) == len(data)
        assert first.head(created.url).offset == len(data)
    finally:
        os.close(fd)
        first.close()
        second.close()
    keys, sha = _stored(fleet, meta["sha256"])
    assert keys == [f"blobs/{meta['sha256']}"] and sha == meta["sha256"]
    images = [c for c in fleet.pc.pull()["changes"] if c["entity"] == "image"]
    assert [c["fields"]["sha256"]["value"] for c in images] == [meta["sha256"]]
    assert not list((tmp_path / "shared-uploads").glob("*.part"))


def test_tuspy_resumes_on_the_other_node(fleet: Fleet) -> None:
    one, two = fleet.servers
    data = os.urandom(2 * 1024 * 1024 + 99)
    meta = _meta(data)
    up = tus_client.TusClient(one.url + "/files/", headers=fleet.pc.headers).uploader(
        file_stream=io.BytesIO(data), chunk_size=1024 * 1024, metadata=meta)
    up.upload_chunk()
    there = _on(two, up.url)
    resumed = tus_client.TusClient(two.url + "/files/", headers=fleet.pc.headers).uploader(
        file_stream=io.BytesIO(data), url=there, chunk_size=1024 * 1024, upload_checksum=True)
    assert resumed.offset == 1024 * 1024
    resumed.upload()
    keys, sha = _stored(fleet, meta["sha256"])
    assert keys == [f"blobs/{meta['sha256']}"] and sha == meta["sha256"]


def _upload_locks_held(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :ns "
            "AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())"), {"ns": 0x7475}).scalar()
    engine.dispose()
    return int(n or 0)


def test_two_nodes_never_write_one_upload_at_once(fleet: Fleet) -> None:
    one, two = fleet.servers
    pc = fleet.pc
    data = os.urandom(200_000)
    meta = _meta(data)
    up = tus_client.TusClient(one.url + "/files/", headers=pc.headers).uploader(
        file_stream=io.BytesIO(data), chunk_size=50_000, metadata=meta)
    up.upload_chunk()
    there = _on(two, up.url)
    with httpx.Client(timeout=60) as http:
        # A PATCH on node one sends part of its body and stalls, holding the upload.
        sock = _start_raw_patch(one, pc, up.url, 50_000, 50_000, data[50_000:60_000])
        wait_until(lambda: not _try_head(http, pc, there),
                   message="the first PATCH to hold the upload")
        # Both processes run on this one machine, where the part file's flock would
        # hold too; machines of a fleet share the database's lock instead.
        assert _upload_locks_held(fleet.database_url) == 1
        head = http.head(there, headers={**TUS, **pc.headers})
        assert head.headers.get("Chairside-Upload-Busy") == "true"
        r = http.patch(there, content=data[50_000:100_000], headers={
            **TUS, **pc.headers, "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "50000"})
        assert r.status_code == 423 and "another request" in r.json()["detail"]
        sock.sendall(data[60_000:100_000])
        reply = sock.recv(4096).decode()
        sock.close()
        assert reply.startswith("HTTP/1.1 204")
        assert int(http.head(there, headers={**TUS, **pc.headers})
                   .headers["Upload-Offset"]) == 100_000
    resumed = tus_client.TusClient(two.url + "/files/", headers=pc.headers).uploader(
        file_stream=io.BytesIO(data), url=there, chunk_size=50_000)
    resumed.upload()
    keys, sha = _stored(fleet, meta["sha256"])
    assert keys == [f"blobs/{meta['sha256']}"] and sha == meta["sha256"]
