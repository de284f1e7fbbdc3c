"""A PC that vanishes mid-chunk does not lock its upload: while the abandoned body may
still arrive, HEAD says the upload is busy (our client waits rather than sending into
the lock); once the body stopped arriving for the server's body read timeout, the
upload is free and resumes from what arrived."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from app.core.ids import new_id
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.support import PC, register_pc, register_practice
from tests.unit.cloud.test_tus import OCTET, TUS, _meta

BODY_TIMEOUT_S = 2.0


@pytest.fixture
def patient_server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "data", {
        "DATABASE_URL": "", "CHAIRSIDE_CLOUD_BODY_READ_TIMEOUT_S": str(BODY_TIMEOUT_S)})
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.mark.parametrize("checksum", [False, True], ids=["plain", "checksummed"])
def test_a_vanished_client_leaves_its_upload_busy_only_until_the_body_stops(
    patient_server: Server, checksum: bool
) -> None:
    with httpx.Client(base_url=patient_server.url, timeout=30) as http:
        pc: PC = register_pc(http, *register_practice(http, patient_server.mail_dir))
        data = bytes(range(256)) * 400
        r = http.post("/files/", headers={
            **TUS, **pc.headers, "Upload-Length": str(len(data)),
            "Upload-Metadata": _meta(sha256=hashlib.sha256(data).hexdigest(),
                                     patient_id=new_id(), kind="xray", filename="a.dcm")})
        path = urlparse(r.headers["Location"]).path
        assert "Chairside-Upload-Busy" not in http.head(path, headers={**TUS, **pc.headers}).headers

        # A PATCH whose sender goes silent after 30 KB, its connection left open.
        u = urlparse(patient_server.url)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        declared = f"Upload-Checksum: sha256 {digest}\r\n" if checksum else ""
        sock = socket.create_connection((u.hostname, u.port), timeout=30)
        sock.sendall((f"PATCH {path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
                      f"Authorization: Bearer {pc.token}\r\nUpload-Offset: 0\r\n"
                      f"Content-Type: {OCTET['Content-Type']}\r\n{declared}"
                      f"Content-Length: {len(data)}\r\n\r\n").encode() + data[:30_000])
        answered = threading.Event()
        answer: list[bytes] = []

        def wait_answer() -> None:
            answer.append(sock.recv(4096))
            answered.set()

        reader = threading.Thread(target=wait_answer, name="vanished-pc")
        reader.start()
        try:
            busy = False
            while not (busy or answered.is_set()):  # the body may still come: held
                head = http.head(path, headers={**TUS, **pc.headers})
                busy = head.headers.get("Chairside-Upload-Busy") == "true"
            assert busy and not answered.is_set()
            assert answered.wait(BODY_TIMEOUT_S * 10), "the stalled body held the upload"
        finally:
            reader.join(30)
            sock.close()
        head = http.head(path, headers={**TUS, **pc.headers})
        assert "Chairside-Upload-Busy" not in head.headers
        offset = int(head.headers["Upload-Offset"])
        if checksum:  # a chunk that could not be verified leaves nothing behind
            assert offset == 0
        else:  # what arrived is kept
            assert 0 < offset <= 30_000
        r = http.patch(path, content=data[offset:], headers={
            **TUS, **OCTET, **pc.headers, "Upload-Offset": str(offset)})
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
