"""The Data download page in real Chromium against the real cloud process: a server
account with the permission schedules with the code mailed to him, and after the night
downloads the ZIP, which 7-Zip opens with his password. Screenshots go to
test-artifacts/portal/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.config import Settings
from cloud.db import make_engine
from cloud.export import service
from cloud.export.models import DataDownload
from tests.integration.cloud.conftest import Server
from tests.integration.portal.conftest import DESKTOP, PHONE
from tests.unit.cloud.portal.support import DOCTOR_PW, LOGIN_PW, Clinic


def _login(page: Any, url: str, clinic: Clinic, user: str) -> None:
    page.goto(url + "/doctor/")
    page.fill("#installation_id", clinic.iid)
    page.fill("#login_password", LOGIN_PW)
    page.fill("#user", user)
    page.fill("#password", DOCTOR_PW)
    page.click("#go")
    page.wait_for_url("**/doctor/patients")


def _mailed_code(mail_dir: Path, to: str) -> str:
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns,
                       reverse=True):
        text = path.read_text()
        if f"To: {to}" in text and "data download" in text:
            found = re.search(r"^\s+(\d{6})\s*$", text, re.M)
            assert found
            return found.group(1)
    raise AssertionError(f"no code mailed to {to}")


def _night(server: Server, db_url: str) -> None:
    """The night comes: the scheduled downloads are made, as the server's job does."""
    engine = make_engine(db_url)
    settings = Settings(data_dir=server.data, database_url=db_url)

    def maker() -> Session:
        return Session(engine, expire_on_commit=False)

    with maker() as session:
        ids = list(session.scalars(select(DataDownload.id).where(
            DataDownload.status == "scheduled")))
    for download_id in ids:
        service.build(maker, settings, download_id)  # type: ignore[arg-type]
    engine.dispose()


def test_schedule_with_the_mailed_code_then_download_the_zip(
        chromium: Any, portal_server: Server, portal_db: str, live_clinic: Clinic,
        shots: Path, tmp_path: Path) -> None:
    clinic = live_clinic
    clinic.account("nobody", whole=True)
    clinic.account("lee", whole=True)
    clinic.api("PUT", "/groups/Data%20keepers", 204, json={
        "permissions": ["data_download.full_control"],
        "members": {f"account:{clinic.accounts['lee']}": "lee@example.org"}})

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    _login(page, portal_server.url, clinic, "nobody")
    page.click("#nav-download")
    page.wait_for_url("**/doctor/download")
    assert "Data download — full control" in page.inner_text("#missing")
    page.screenshot(path=str(shots / "phone-download-missing-permission.png"), full_page=True)
    context.close()

    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    _login(page, portal_server.url, clinic, "lee")
    page.click("#nav-download")
    page.wait_for_url("**/doctor/download")
    assert "AES-256" in page.inner_text("#password-note")
    first = page.get_attribute("#run_on", "min")
    assert page.input_value("#run_on") == first  # tomorrow is the default
    page.fill("#password", DOCTOR_PW)
    page.click("#schedule")
    page.wait_for_selector("#code-dialog")
    assert "l***@example.org" in page.inner_text("#sent-to")
    page.screenshot(path=str(shots / "desktop-download-code.png"), full_page=True)
    page.fill("#code", _mailed_code(portal_server.mail_dir, "lee@example.org"))
    page.click("#continue")
    page.wait_for_selector("#scheduled")
    assert "Scheduled" in page.inner_text("#downloads")

    _night(portal_server, portal_db)
    page.reload()
    assert "Ready" in page.inner_text("#downloads")
    page.fill("#downloads input[type=password]", DOCTOR_PW)
    page.screenshot(path=str(shots / "desktop-download-ready.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#downloads button.get")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.startswith(f"chairside-data-{clinic.iid}-") and saved.suffix == ".zip"
    context.close()
    seven = shutil.which("7z")
    assert seven, "7z (p7zip-full) is installed by scripts/setup.sh"
    opened = subprocess.run([seven, "x", "-y", f"-p{DOCTOR_PW}", f"-o{tmp_path / 'x'}",
                             str(saved)], capture_output=True, text=True)
    assert opened.returncode == 0, opened.stdout
    rows = (tmp_path / "x" / "treatments.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 4  # the header and the seed's three visits
