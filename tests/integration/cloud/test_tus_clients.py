"""Standard tus clients against the real server: tuspy and tus-js-client, with
interruptions, resumption and racing writers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient import client as tus_client

from app.core.ids import new_id
from cloud.tus.protocol import UPLOAD_BUSY
from tests.integration.cloud.conftest import Server
from tests.support.cloud_blobs import stored_plain_sha
from tests.support.waiting import wait_until
from tests.unit.cloud.support import PC

TUS = {"Tus-Resumable": "1.0.0"}
HERE = Path(__file__).parent


def _stored_sha(server: Server, sha: str) -> str:
    return stored_plain_sha(server.data, sha)[0]


def _meta(data: bytes, filename: str = "scan.stl", kind: str = "intraoral_scan") -> dict[str, str]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "patient_id": new_id(), "kind": kind,
            "filename": filename}


def _head_offset(http: httpx.Client, pc: PC, url: str) -> int:
    r = http.head(url, headers={**TUS, **pc.headers})
    assert r.status_code == 200
    return int(r.headers["Upload-Offset"])


def _start_raw_patch(server: Server, pc: PC, url: str, offset: int, total: int,
                     first: bytes) -> socket.socket:
    """A PATCH that announces `total` bytes, sends `first` and then stalls."""
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port))
    path = urlsplit(url).path
    head = (f"PATCH {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {pc.token}\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: {offset}\r\nContent-Length: {total}\r\n\r\n")
    sock.sendall(head.encode() + first)
    return sock


def test_tuspy_uploads_and_resumes_after_an_interruption(
    server: Server, http: httpx.Client, remote_pc: PC, tmp_path: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)
    meta = _meta(data)
    client = tus_client.TusClient(server.url + "/files/", headers=remote_pc.headers)
    first = client.uploader(file_stream=_stream(data), chunk_size=1024 * 1024, metadata=meta)
    first.upload_chunk()  # 1 MiB, then the "connection breaks" mid-chunk:
    url = first.url
    sock = _start_raw_patch(server, remote_pc, url, 1024 * 1024, 1024 * 1024,
                            data[1024 * 1024: 1024 * 1024 + 300_000])
    # Closed while the server holds the upload for it: what was sent before the break
    # is read before the end of the stream, and must be kept. (Waiting for the offset
    # with the socket open would only race the server's 30 s body read timeout.)
    wait_until(lambda: _busy(http, remote_pc, url), message="the PATCH to hold the upload")
    sock.close()
    wait_until(lambda: not _busy(http, remote_pc, url), message="the interrupted PATCH to end")
    offset = _head_offset(http, remote_pc, url)
    assert offset == 1024 * 1024 + 300_000  # what arrived was kept
    resumed = client.uploader(file_stream=_stream(data), url=url, chunk_size=1024 * 1024,
                              upload_checksum=True)
    assert resumed.offset == offset
    resumed.upload()
    sha = meta["sha256"]
    assert _stored_sha(server, sha) == sha
    images = [c for c in remote_pc.pull()["changes"] if c["entity"] == "image"]
    assert [c["fields"]["sha256"]["value"] for c in images] == [sha]


def _busy(http: httpx.Client, pc: PC, url: str) -> bool:
    r = http.head(url, headers={**TUS, **pc.headers})
    assert r.status_code == 200
    return r.headers.get(UPLOAD_BUSY) == "true"


def _try_head(http: httpx.Client, pc: PC, url: str) -> bool:
    """True once the upload's lock is free (a PATCH on it answers something but 423)."""
    r = http.patch(url, content=b"", headers={
        **TUS, **pc.headers, "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0"})
    return r.status_code != 423


def _stream(data: bytes):  # type: ignore[no-untyped-def]
    import io
    return io.BytesIO(data)


def test_racing_patches_can_not_corrupt_an_upload(
    server: Server, http: httpx.Client, remote_pc: PC
) -> None:
    data = os.urandom(200_000)
    meta = _meta(data)
    client = tus_client.TusClient(server.url + "/files/", headers=remote_pc.headers)
    up = client.uploader(file_stream=_stream(data), chunk_size=50_000, metadata=meta)
    up.upload_chunk()
    url = up.url
    sock = _start_raw_patch(server, remote_pc, url, 50_000, 50_000, data[50_000:60_000])
    wait_until(lambda: not _try_head(http, remote_pc, url),
               message="the first PATCH to hold the upload")
    r = http.patch(url, content=data[50_000:100_000], headers={
        **TUS, **remote_pc.headers, "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "50000"})
    assert r.status_code == 423 and "another request" in r.json()["detail"]
    sock.sendall(data[60_000:100_000])
    reply = sock.recv(4096).decode()
    sock.close()
    assert reply.startswith("HTTP/1.1 204") and "Upload-Offset: 100000" in reply.replace(
        "upload-offset", "Upload-Offset")
    up2 = client.uploader(file_stream=_stream(data), url=url, chunk_size=50_000)
    up2.upload()
    assert _stored_sha(server, meta["sha256"]) == \
        meta["sha256"]


def _npm_dir() -> Path | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None
    spec = (HERE / "tusjs" / "package.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    target = cache / "chairside-tests" / f"tusjs-{hashlib.sha256(spec).hexdigest()[:12]}"
    if not (target / "node_modules" / "tus-js-client").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "tusjs" / "package.json", target / "package.json")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=target,
                       check=True, timeout=300, capture_output=True)
    shutil.copy(HERE / "tusjs" / "upload.js", target / "upload.js")
    return target


def test_tus_js_client_uploads_and_resumes(
    server: Server, remote_pc: PC, tmp_path: Path
) -> None:
    folder = _npm_dir()
    if folder is None:
        pytest.skip("node and npm are needed for tus-js-client")
    data = os.urandom(2 * 1024 * 1024 + 77)
    path = tmp_path / "face.obj"
    path.write_bytes(data)
    meta = _meta(data, "face.obj", "face_scan")
    base = ["node", str(folder / "upload.js"), server.url + "/files/", remote_pc.token,
            str(path), json.dumps(meta), str(512 * 1024)]
    out = subprocess.run([*base, str(700 * 1024)], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "stopped" in out, out
    url = out.split("url ")[1].split()[0]
    out = subprocess.run([*base, "", url], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert f"done {len(data)}" in out, out
    sha = meta["sha256"]
    assert _stored_sha(server, sha) == sha


def test_standard_clients_send_a_file_the_installation_already_holds(
    server: Server, remote_pc: PC, tmp_path: Path
) -> None:
    """The "already stored" shortcut is for our agent alone: a standard client that
    creates an upload of known bytes gets the standard answer and simply sends them."""
    data = os.urandom(300_000)
    meta = _meta(data)
    client = tus_client.TusClient(server.url + "/files/", headers=remote_pc.headers)
    client.uploader(file_stream=_stream(data), chunk_size=100_000, metadata=meta).upload()
    again = {**meta, "patient_id": new_id(), "filename": "again.stl"}
    up = client.uploader(file_stream=_stream(data), chunk_size=100_000, metadata=again)
    up.upload()  # default settings; it used to PATCH at 0, meet 409 and fail
    assert up.offset == len(data)
    expected = 2
    folder = _npm_dir()
    if folder is not None:
        path = tmp_path / "again.stl"
        path.write_bytes(data)
        third = {**meta, "patient_id": new_id(), "filename": "third.stl"}
        out = subprocess.run(
            ["node", str(folder / "upload.js"), server.url + "/files/", remote_pc.token,
             str(path), json.dumps(third), str(100_000)],
            capture_output=True, text=True, timeout=120, check=True).stdout
        assert f"done {len(data)}" in out, out
        expected = 3
    sha = meta["sha256"]
    assert _stored_sha(server, sha) == sha
    images = [c for c in remote_pc.pull()["changes"] if c["entity"] == "image"]
    assert len(images) == expected  # one per patient the bytes were filed under
