"""Finding 16: a request body that stops arriving ends the request, and a tus chunk cut
short that way keeps what arrived and frees its upload for the next attempt."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from app.core.ids import new_id
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.support import PC, register_pc, register_practice
from tests.unit.cloud.test_tus import OCTET, TUS, _meta

TIMEOUT_S = 1.0


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "data", {
        "DATABASE_URL": "", "CHAIRSIDE_CLOUD_BODY_READ_TIMEOUT_S": str(TIMEOUT_S)})
    try:
        yield srv
    finally:
        stop_server(srv)


def _stalled(url: str, head: str, part: bytes) -> str:
    """Send the head and part of the body, then nothing: the server's answer."""
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=TIMEOUT_S * 20) as s:
        s.sendall(head.encode() + part)
        return s.recv(4096).decode(errors="replace")


def test_a_stalled_body_is_answered_and_the_upload_freed(impatient: Server) -> None:
    answer = _stalled(impatient.url, "POST /patient/login HTTP/1.1\r\nHost: x\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: 1000\r\n\r\n", b"card=C-1")
    assert answer.startswith("HTTP/1.1 408"), answer
    with httpx.Client(base_url=impatient.url, timeout=30) as http:
        pc: PC = register_pc(http, *register_practice(http, impatient.mail_dir))
        data = bytes(range(256)) * 400
        r = http.post("/files/", headers={
            **TUS, **pc.headers, "Upload-Length": str(len(data)),
            "Upload-Metadata": _meta(sha256=hashlib.sha256(data).hexdigest(),
                                     patient_id=new_id(), kind="xray", filename="a.dcm")})
        path = urlparse(r.headers["Location"]).path
        head = (f"PATCH {path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
                f"Authorization: Bearer {pc.token}\r\nUpload-Offset: 0\r\n"
                f"Content-Type: {OCTET['Content-Type']}\r\nContent-Length: {len(data)}\r\n\r\n")
        answer = _stalled(impatient.url, head, data[:40_000])
        assert answer.startswith("HTTP/1.1 204"), answer
        offset = int(http.head(path, headers={**TUS, **pc.headers}).headers["Upload-Offset"])
        assert 0 < offset <= 40_000
        r = http.patch(path, content=data[offset:], headers={
            **TUS, **OCTET, **pc.headers, "Upload-Offset": str(offset)})
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
