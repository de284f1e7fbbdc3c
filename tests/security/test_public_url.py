"""Finding 14: the upload Location and the account setup link never come from the
request's Host header (which the caller chooses), only from the configured public URL."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.ids import new_id
from cloud.config import Settings
from cloud.main import create_app
from tests.unit.cloud.portal.support import Clinic
from tests.unit.cloud.support import PC, register_pc, register_practice
from tests.unit.cloud.test_tus import TUS, _meta

EVIL = {"Host": "evil.example"}


def _create(pc: PC) -> str:
    data = b"x" * 100
    r = pc.http.post("/files/", headers={
        **TUS, **pc.headers, **EVIL, "Upload-Length": str(len(data)),
        "Upload-Metadata": _meta(sha256=hashlib.sha256(data).hexdigest(),
                                 patient_id=new_id(), kind="xray", filename="a.dcm")})
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def _setup_link(clinic_or_pc: PC, account_id: str) -> str:
    r = clinic_or_pc.http.post(f"/api/v1/server/accounts/{account_id}/setup-link",
                               headers={**clinic_or_pc.headers, **EVIL}, json={})
    assert r.status_code == 200, r.text
    return str(r.json()["link"])


def test_a_spoofed_host_does_not_reach_locations_or_links(clinic: Clinic) -> None:
    location = _create(clinic.pc)
    assert "evil" not in location and location.startswith("/files/")
    link = _setup_link(clinic.pc, clinic.account("newcomer", password=None))
    assert "evil" not in link and link.startswith("http://127.0.0.1:8000/account/setup?")


def test_the_configured_public_url_makes_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "c", database_url="",
                        public_url="https://cloud.example.org/")
    with TestClient(create_app(settings)) as client:
        pc = register_pc(client, *register_practice(client, settings.mail_dir))
        assert _create(pc).startswith("https://cloud.example.org/files/")
        account = client.post("/api/v1/server/accounts", headers=pc.headers,
                              json={"name": "newcomer"}).json()["id"]
        assert _setup_link(pc, account).startswith(
            "https://cloud.example.org/account/setup?token=")
