"""A full disk under the blob store: 507 with the reason and Retry-After, nothing
half-written, and the upload finishes once there is room again."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.ids import new_id
from cloud.config import Settings
from cloud.main import create_app
from tests.support.cloud_blobs import stored_plain_sha
from tests.unit.cloud.support import PC, register_pc, register_practice
from tests.unit.cloud.test_tus import OCTET, TUS, _meta, create, head, patch


@pytest.fixture
def full(tmp_path: Path) -> Path:
    flag = tmp_path / "disk-is-full"
    flag.touch()
    return flag


@pytest.fixture
def cloud(tmp_path: Path, db_url: str, full: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(data_dir=tmp_path / "cloud", database_url=db_url,
                        test_storage_full_flag=full)
    with TestClient(create_app(settings)) as c:
        yield c, settings


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_a_full_disk_is_said_and_the_upload_finishes_once_there_is_room(
        cloud: tuple[TestClient, Settings], full: Path) -> None:
    http, settings = cloud
    pc: PC = register_pc(http, *register_practice(http, settings.mail_dir))
    data = os.urandom(300_000)
    url = create(pc, data).headers["Location"]
    r = patch(pc, url, data, 0)
    assert r.status_code == 507
    assert r.json()["detail"].startswith("the server's storage is full")
    assert int(r.headers["Retry-After"]) > 0
    assert _files(settings.resolved_blob_dir) == []  # no blob, not even a temporary one
    assert head(pc, url).headers["Upload-Offset"] == str(len(data))  # what arrived stays
    assert pc.pull_all() == []  # and no image was recorded

    full.unlink()  # room again: the client confirms the end with an empty chunk
    assert patch(pc, url, b"", len(data)).status_code == 204
    sha = hashlib.sha256(data).hexdigest()
    assert stored_plain_sha(settings.data_dir, sha) == (sha, len(data))
    assert [c["entity"] for c in pc.pull_all()] == ["image"]


def test_a_full_disk_on_creation_with_upload_leaves_nothing(
        cloud: tuple[TestClient, Settings]) -> None:
    http, settings = cloud
    pc = register_pc(http, *register_practice(http, settings.mail_dir))
    data = os.urandom(1000)
    sha = hashlib.sha256(data).hexdigest()
    r = pc.http.post("/files/", content=data, headers={
        **TUS, **OCTET, **pc.headers, "Upload-Length": str(len(data)),
        "Upload-Metadata": _meta(sha256=sha, patient_id=new_id(), kind="xray",
                                 filename="a.dcm")})
    assert r.status_code == 507 and "Location" not in r.headers
    assert _files(settings.uploads_dir) == []
