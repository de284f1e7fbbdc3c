"""The tus endpoints in process: protocol details and every kind of bad input."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud.config import Settings
from cloud.main import create_app
from cloud.models import Upload
from cloud.tus import segments, storage
from tests.unit.cloud.support import PC, patient

TUS = {"Tus-Resumable": "1.0.0"}
OCTET = {"Content-Type": "application/offset+octet-stream"}


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(pc: PC, data: bytes, *, expect: int = 201, ask: bool = False, **meta: str) -> Any:
    values = {"sha256": hashlib.sha256(data).hexdigest(), "patient_id": new_id(),
              "kind": "xray", "filename": "pano.dcm", **meta}
    asking = {"Chairside-Ask-Stored": "true"} if ask else {}
    r = pc.http.post("/files/", headers={**TUS, **pc.headers, "Upload-Length": str(len(data)),
                                         "Upload-Metadata": _meta(**values), **asking})
    assert r.status_code == expect, r.text
    return r


def patch(pc: PC, url: str, chunk: bytes, offset: int, **headers: str) -> Any:
    return pc.http.patch(url, content=chunk, headers={
        **TUS, **OCTET, **pc.headers, "Upload-Offset": str(offset), **headers})


def head(pc: PC, url: str) -> Any:
    return pc.http.head(url, headers={**TUS, **pc.headers})


def blob_files(settings: Settings) -> list[str]:
    return [p.name for p in settings.resolved_blob_dir.rglob("*") if p.is_file()]


def test_options_advertises_the_protocol(client: TestClient) -> None:
    r = client.options("/files/")
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) >= {
        "creation", "checksum", "termination", "expiration"}
    assert r.headers["Tus-Checksum-Algorithm"] == "sha1,sha256,crc32"
    assert int(r.headers["Tus-Max-Size"]) > 0
    assert r.headers["Tus-Resumable"] == "1.0.0"


def test_upload_in_chunks_arrives_verified(pc: PC, settings: Settings) -> None:
    data = os.urandom(300_000)
    r = create(pc, data)
    url = r.headers["Location"]
    assert r.headers["Upload-Offset"] == "0" and "Upload-Expires" in r.headers
    h = head(pc, url)
    assert h.headers["Upload-Offset"] == "0" and h.headers["Cache-Control"] == "no-store"
    assert h.headers["Upload-Length"] == str(len(data))
    r = patch(pc, url, data[:100_000], 0)
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "100000"
    assert r.headers["Tus-Resumable"] == "1.0.0"
    digest = base64.b64encode(hashlib.sha1(data[100_000:]).digest()).decode()
    r = patch(pc, url, data[100_000:], 100_000, **{"Upload-Checksum": f"sha1 {digest}"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    sha = hashlib.sha256(data).hexdigest()
    assert blob_files(settings) == [sha]
    (change,) = [c for c in pc.pull()["changes"] if c["entity"] == "image"]
    assert change["fields"]["sha256"]["value"] == sha
    assert change["fields"]["kind"]["value"] == "xray"
    assert change["origin_node"] == pc.node


def test_known_bytes_are_not_sent_again(pc: PC) -> None:
    data = b"same bytes" * 1000
    url = create(pc, data).headers["Location"]
    patch(pc, url, data, 0)
    r = create(pc, data, filename="again.dcm", ask=True)
    assert r.headers["Chairside-Already-Stored"] == "true"
    assert r.headers["Upload-Offset"] == str(len(data))
    assert head(pc, r.headers["Location"]).headers["Upload-Offset"] == str(len(data))
    images = [c for c in pc.pull()["changes"] if c["entity"] == "image"]
    assert len(images) == 2  # one per patient the bytes were filed under


def test_a_client_that_does_not_ask_gets_the_standard_creation_answer(pc: PC) -> None:
    data = b"standard" * 1000
    patch(pc, create(pc, data).headers["Location"], data, 0)
    r = create(pc, data, filename="again.dcm")
    assert "Chairside-Already-Stored" not in r.headers and r.headers["Upload-Offset"] == "0"
    r = patch(pc, r.headers["Location"], data, 0)  # it sends the bytes, as tus says
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    assert len([c for c in pc.pull()["changes"] if c["entity"] == "image"]) == 2


def test_another_practice_must_send_its_own_bytes(pc: PC, stranger: PC) -> None:
    data = b"private" * 100
    patch(pc, create(pc, data).headers["Location"], data, 0)
    r = create(stranger, data)
    assert "Chairside-Already-Stored" not in r.headers and r.headers["Upload-Offset"] == "0"
    assert head(stranger, r.headers["Location"]).status_code == 200
    assert head(pc, r.headers["Location"]).status_code == 404


def test_offset_mismatch_is_409_and_nothing_written(pc: PC) -> None:
    url = create(pc, b"x" * 1000).headers["Location"]
    patch(pc, url, b"x" * 100, 0)
    r = patch(pc, url, b"x" * 100, 50)
    assert r.status_code == 409 and "does not match" in r.json()["detail"]
    assert head(pc, url).headers["Upload-Offset"] == "100"


def test_a_power_cut_after_an_answered_chunk_costs_a_resend_not_a_byte(
    pc: PC, settings: Settings,
) -> None:
    seg = segments.SEGMENT
    data = os.urandom(5 * seg + 1000)
    url = create(pc, data).headers["Location"]
    assert patch(pc, url, data[:3 * seg], 0).headers["Upload-Offset"] == str(3 * seg)
    # A chunk before the last is answered before its writes are flushed. What a power
    # cut may leave: the file at its length, its last segment never written.
    upload_id = url.rsplit("/", 1)[1]
    with open(storage.part_path(settings.uploads_dir, upload_id), "r+b") as f:
        f.seek(segments.HEADER + 2 * segments.WHOLE)
        f.write(bytes(segments.WHOLE))
    storage.forget_hash(upload_id)  # the restarted server holds nothing in memory
    r = patch(pc, url, data[3 * seg:], 3 * seg)
    assert r.status_code == 409 and r.headers["Upload-Offset"] == str(2 * seg)
    assert head(pc, url).headers["Upload-Offset"] == str(2 * seg)
    r = patch(pc, url, data[2 * seg:], 2 * seg)  # the client sends again from there
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    assert blob_files(settings) == [hashlib.sha256(data).hexdigest()]


def test_checksum_mismatch_is_460_and_the_chunk_discarded(pc: PC) -> None:
    url = create(pc, b"y" * 1000).headers["Location"]
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    r = patch(pc, url, b"y" * 500, 0, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert r.status_code == 460 and "discarded" in r.json()["detail"]
    assert head(pc, url).headers["Upload-Offset"] == "0"
    r = patch(pc, url, b"y" * 500, 0, **{"Upload-Checksum": "md5 AAAA"})
    assert r.status_code == 400


def test_crc32_chunks_are_checked_too(pc: PC, settings: Settings) -> None:
    data = os.urandom(200_000)
    url = create(pc, data).headers["Location"]

    def crc(chunk: bytes) -> str:
        return "crc32 " + base64.b64encode(zlib.crc32(chunk).to_bytes(4, "big")).decode()

    damaged = data[:70_000] + b"!" + data[70_001:100_000]
    r = patch(pc, url, damaged, 0, **{"Upload-Checksum": crc(data[:100_000])})
    assert r.status_code == 460
    assert head(pc, url).headers["Upload-Offset"] == "0"
    r = patch(pc, url, data[:100_000], 0, **{"Upload-Checksum": crc(data[:100_000])})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "100000"
    r = patch(pc, url, data[100_000:], 100_000, **{"Upload-Checksum": crc(data[100_000:])})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    assert blob_files(settings) == [hashlib.sha256(data).hexdigest()]
    r = patch(pc, create(pc, b"w" * 10).headers["Location"], b"w" * 10, 0,
              **{"Upload-Checksum": "crc32 " + base64.b64encode(b"12345").decode()})
    assert r.status_code == 400 and "length" in r.json()["detail"]


def test_a_body_longer_than_declared_is_refused(pc: PC, settings: Settings) -> None:
    url = create(pc, b"z" * 1000).headers["Location"]
    r = patch(pc, url, b"z" * 1001, 0)
    assert r.status_code == 413
    assert head(pc, url).headers["Upload-Offset"] == "0"

    def chunked() -> Any:  # no Content-Length: refused once the bytes overflow
        yield b"z" * 600
        yield b"z" * 600

    r = pc.http.patch(url, content=chunked(), headers={
        **TUS, **OCTET, **pc.headers, "Upload-Offset": "0"})
    assert r.status_code == 413
    assert head(pc, url).headers["Upload-Offset"] == "0"
    assert blob_files(settings) == []


def test_whole_file_hash_mismatch_stores_nothing(pc: PC, settings: Settings) -> None:
    url = create(pc, b"a" * 100, sha256=hashlib.sha256(b"b" * 100).hexdigest()).headers[
        "Location"]
    r = patch(pc, url, b"a" * 100, 0)
    # Not 460 (a damaged chunk, send it again): the whole upload is void, start again.
    assert r.status_code == 422 and "start again" in r.json()["detail"]
    assert blob_files(settings) == []
    assert head(pc, url).status_code == 404
    assert [c for c in pc.pull()["changes"] if c["entity"] == "image"] == []


def test_upload_length_over_the_limit(pc: PC, settings: Settings) -> None:
    r = pc.http.post("/files/", headers={
        **TUS, **pc.headers, "Upload-Length": str(settings.max_upload_bytes + 1),
        "Upload-Metadata": _meta(sha256="0" * 64, patient_id=new_id(), kind="cbct",
                                 filename="a.dcm")})
    assert r.status_code == 413 and "Tus-Max-Size" in r.json()["detail"]


def test_wrong_content_type_is_415(pc: PC) -> None:
    url = create(pc, b"q" * 10).headers["Location"]
    r = pc.http.patch(url, content=b"q" * 10, headers={
        **TUS, **pc.headers, "Upload-Offset": "0", "Content-Type": "application/json"})
    assert r.status_code == 415


def test_unknown_upload_is_404(pc: PC) -> None:
    assert head(pc, "/files/" + "0" * 32).status_code == 404
    assert patch(pc, "/files/" + "0" * 32, b"x", 0).status_code == 404
    assert head(pc, "/files/../etc").status_code == 404


def test_expired_upload_is_410_and_cleaned(pc: PC, settings: Settings) -> None:
    settings.upload_expiry_hours = 0
    url = create(pc, b"e" * 10).headers["Location"]
    assert list(settings.uploads_dir.glob("*.part"))
    r = patch(pc, url, b"e" * 10, 0)
    assert r.status_code == 410
    assert not list(settings.uploads_dir.glob("*.part"))
    assert head(pc, url).status_code == 404


def test_termination(pc: PC, settings: Settings) -> None:
    url = create(pc, b"t" * 10).headers["Location"]
    assert pc.http.delete(url, headers={**TUS, **pc.headers}).status_code == 204
    assert head(pc, url).status_code == 404
    assert not list(settings.uploads_dir.glob("*.part"))


@pytest.mark.parametrize("filename", ["../../etc/passwd", "a\x00b.jpg", "..", "dir/x.jpg",
                                      "c:\\x.jpg"])
def test_bad_file_names_are_refused(pc: PC, settings: Settings, filename: str) -> None:
    r = create(pc, b"n" * 10, expect=400, filename=filename)
    assert "filename" in r.json()["detail"]
    assert not list(settings.uploads_dir.glob("*.part"))


@pytest.mark.parametrize("metadata", [
    "sha256 !!!notbase64", "sha256", "a b c", "kind eHJheQ==,kind eHJheQ==",
])
def test_bad_metadata_is_400(pc: PC, metadata: str) -> None:
    r = pc.http.post("/files/", headers={**TUS, **pc.headers, "Upload-Length": "10",
                                         "Upload-Metadata": metadata})
    assert r.status_code == 400


def test_bad_kind_and_patient(pc: PC, stranger: PC) -> None:
    create(pc, b"k", expect=400, kind="selfie")
    create(pc, b"k", expect=400, patient_id="not-a-uuid")
    pid = new_id()
    stranger.push(patient(stranger, pid))
    r = create(pc, b"k", expect=403, patient_id=pid)
    assert "patient_id" in r.json()["detail"]


def test_tus_version_is_checked(pc: PC) -> None:
    r = pc.http.post("/files/", headers={**pc.headers, "Tus-Resumable": "0.2.2",
                                         "Upload-Length": "1"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
    assert r.headers["Tus-Resumable"] == "1.0.0"


def test_uploads_need_a_device_token(client: TestClient) -> None:
    r = client.post("/files/", headers={**TUS, "Upload-Length": "1"})
    assert r.status_code == 401 and r.headers["Tus-Resumable"] == "1.0.0"


def test_a_chunk_is_answered_as_any_request_of_the_server(pc: PC) -> None:
    """A PATCH goes past the app's routing: its refusals, headers and malformed ids
    are answered all the same."""
    url = create(pc, b"q" * 10).headers["Location"]
    for auth in ({}, {"Authorization": "Bearer not-a-device"}, {"Authorization": "Basic eDp5"}):
        r = pc.http.patch(url, content=b"q" * 10,
                          headers={**TUS, **OCTET, "Upload-Offset": "0", **auth})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["X-Request-ID"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = patch(pc, url, b"q" * 10, 0, **{"Tus-Resumable": "0.2.2"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
    assert head(pc, url).headers["Upload-Offset"] == "0"  # nothing of them was kept
    r = patch(pc, "/files/NOT-AN-ID", b"q", 0)
    assert r.status_code == 422 and r.headers["Tus-Resumable"] == "1.0.0"
    assert patch(pc, url, b"q" * 10, 0).status_code == 204


def test_creation_with_upload(pc: PC, settings: Settings) -> None:
    data = b"small photo" * 10
    values = {"sha256": hashlib.sha256(data).hexdigest(), "patient_id": new_id(),
              "kind": "intraoral_photo", "filename": "p.jpg"}
    r = pc.http.post("/files/", content=data, headers={
        **TUS, **OCTET, **pc.headers, "Upload-Length": str(len(data)),
        "Upload-Metadata": _meta(**values)})
    assert r.status_code == 201 and r.headers["Upload-Offset"] == str(len(data))
    assert blob_files(settings) == [values["sha256"]]


def test_empty_file(pc: PC, settings: Settings) -> None:
    r = create(pc, b"")
    assert r.headers["Upload-Offset"] == "0"
    assert head(pc, r.headers["Location"]).headers["Upload-Offset"] == "0"
    assert blob_files(settings) == [hashlib.sha256(b"").hexdigest()]


@pytest.mark.parametrize("trouble", ["checksum", "too long", "whole file"])
def test_a_refused_creation_with_upload_leaves_nothing(
    pc: PC, settings: Settings, client: TestClient, trouble: str
) -> None:
    data = b"refused photo" * 10
    sha = hashlib.sha256(b"other" if trouble == "whole file" else data).hexdigest()
    values = {"sha256": sha, "patient_id": new_id(), "kind": "intraoral_photo",
              "filename": "p.jpg"}
    extra = {}
    if trouble == "checksum":
        extra = {"Upload-Checksum": "sha256 " + base64.b64encode(
            hashlib.sha256(b"other").digest()).decode()}
    body = data + b"!" if trouble == "too long" else data
    r = pc.http.post("/files/", content=body, headers={
        **TUS, **OCTET, **pc.headers, "Upload-Length": str(len(data)),
        "Upload-Metadata": _meta(**values), **extra})
    assert r.status_code in (413, 422, 460) and "Location" not in r.headers
    assert list(settings.uploads_dir.glob("*")) == []
    with Session(create_engine(settings.resolved_database_url)) as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 0


def test_method_override_is_honoured(pc: PC) -> None:
    data = b"override" * 100
    url = create(pc, data).headers["Location"]
    r = pc.http.post(url, content=data, headers={
        **TUS, **OCTET, **pc.headers, "Upload-Offset": "0",
        "X-HTTP-Method-Override": "PATCH"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    r = pc.http.post(url, headers={**TUS, **pc.headers, "X-HTTP-Method-Override": "HEAD"})
    assert r.status_code == 200 and r.headers["Upload-Offset"] == str(len(data))


def test_options_without_the_checksum_extension(tmp_path: Path, db_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "plain", database_url=db_url, tus_checksum=False)
    with TestClient(create_app(settings)) as plain:
        r = plain.options("/files/")
    assert "checksum" not in r.headers["Tus-Extension"].split(",")
    assert "Tus-Checksum-Algorithm" not in r.headers
