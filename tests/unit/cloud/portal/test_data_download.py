"""The data download on the portal: the permission, the one-time code, the night's job,
retrieval by the requester alone after his password again, expiry; all audited."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.config import Settings
from cloud.export import job, service
from cloud.export.models import DataDownload, DownloadCode
from cloud.portal.models import AuditEntry
from tests.support.code_sender import KeptCodes
from tests.support.smtp_inbox import smtp_server
from tests.unit.cloud.portal.conftest import Clock
from tests.unit.cloud.portal.support import ADMIN_PW, DOCTOR_PW, Clinic, csrf_of, doctor_login

PAGE = "/doctor/download"


@pytest.fixture
def codes(client: TestClient) -> KeptCodes:
    kept = KeptCodes()
    client.app.state.code_sender = kept  # type: ignore[attr-defined]
    return kept


@dataclass
class Ctx:
    settings: Settings
    sessionmaker: Any


def _night(client: TestClient) -> None:
    """The runner's part: every download whose night has come is made."""
    app: Any = client.app
    ctx = Ctx(app.state.settings, app.state.sessionmaker)
    with app.state.sessionmaker() as session:
        due = service.due(session)
    for download_id in due:
        job.run_data_download(ctx, {"download_id": download_id})


def _grant(clinic: Clinic, *names: str) -> None:
    clinic.api("PUT", "/groups/Data%20keepers", 204, json={
        "permissions": ["data_download.full_control"],
        "members": {f"account:{clinic.accounts[n]}": f"{n}@example.org" for n in names}})


def _schedule(http: TestClient, password: str, run_on: str = "") -> Any:
    page = http.get(PAGE)
    form = {"csrf": csrf_of(page.text), "password": password}
    if run_on:
        form["run_on"] = run_on
    return http.post(f"{PAGE}/schedule", data=form)


def _confirm(http: TestClient, page: Any, code: str) -> Any:
    import re
    code_id = re.search(r'name="code_id" value="([^"]+)"', page.text)
    assert code_id, "no code pop-up on the page"
    return http.post(f"{PAGE}/confirm", data={"csrf": csrf_of(page.text),
                                              "code_id": code_id.group(1), "code": code})


def _actions(client: TestClient) -> list[str]:
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_without_the_permission_the_page_says_which_and_who_grants_it(
        client: TestClient, clinic: Clinic) -> None:
    clinic.account("lee", whole=True)
    assert doctor_login(client, clinic.iid, "lee", DOCTOR_PW).status_code == 303
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Data download — full control" in page.text
    assert "administrator" in page.text and 'id="schedule"' not in page.text
    refused = _schedule(client, DOCTOR_PW)
    assert refused.status_code == 403 and "Data download — full control" in refused.text
    assert "download_denied" in _actions(client)


def test_schedule_with_a_code_then_the_requester_alone_retrieves_it_for_seven_days(
        client: TestClient, clinic: Clinic, codes: KeptCodes, fake_clock: Clock,
        browser: Callable[[str], TestClient], tmp_path: Path) -> None:
    clinic.api("PATCH", "/settings", json={"time_zone": "Pacific/Auckland"})
    clinic.account("lee", whole=True)
    clinic.account("kim", whole=True)
    _grant(clinic, "lee", "kim")
    assert doctor_login(client, clinic.iid, "lee", DOCTOR_PW).status_code == 303
    page = client.get(PAGE)
    tomorrow = (dt.datetime.now(dt.UTC).astimezone(__import__("zoneinfo").ZoneInfo(
        "Pacific/Auckland")).date() + dt.timedelta(days=1)).isoformat()
    assert f'id="run_on" value="{tomorrow}" min="{tomorrow}"' in page.text
    assert "AES-256" in page.text and "your own" in page.text

    # today is refused; a wrong password sends no code
    assert _schedule(client, DOCTOR_PW, dt.date.today().isoformat()).status_code == 422
    wrong = _schedule(client, "not-my-password")
    assert wrong.status_code == 403 and "not your password" in wrong.text and not codes.sent

    later = (dt.date.fromisoformat(tomorrow) + dt.timedelta(days=2)).isoformat()
    asked = _schedule(client, DOCTOR_PW, later)
    assert asked.status_code == 200 and 'id="code-dialog"' in asked.text
    assert codes.sent[0][0] == "lee@example.org" and len(codes.last) == 6
    assert _schedule(client, DOCTOR_PW, later).status_code == 429  # one a minute
    bad = _confirm(client, asked, f"{(int(codes.last) + 1) % 1_000_000:06d}")
    assert bad.status_code == 422 and "not right" in bad.text
    ok = _confirm(client, asked, codes.last)
    assert ok.status_code == 200 and "is scheduled" in ok.text
    assert _confirm(client, asked, codes.last).status_code == 422  # single use
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        row = s.scalar(select(DataDownload))
        assert row is not None and row.run_on.isoformat() == later
        assert row.sealed_password and DOCTOR_PW not in row.sealed_password
        assert all(c.sealed_password is None for c in s.scalars(select(DownloadCode)))

    _night(client)  # not yet its night
    assert "Scheduled" in client.get(PAGE).text
    fake_clock.advance(days=4)
    _night(client)
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        row = s.scalar(select(DataDownload))
        assert row is not None and row.status == "ready" and row.sealed_password is None
        download_id = row.id
    # the next day: he signs in again and finds it ready
    assert doctor_login(client, clinic.iid, "lee", DOCTOR_PW).status_code == 303
    page = client.get(PAGE)
    assert "Ready" in page.text and f'action="{PAGE}/{download_id}"' in page.text

    # another user with the permission can not retrieve it, even with his password
    kim = browser("10.0.0.7")
    assert doctor_login(kim, clinic.iid, "kim", DOCTOR_PW).status_code == 303
    refused = kim.post(f"{PAGE}/{download_id}", data={"csrf": csrf_of(kim.get(PAGE).text),
                                                      "password": DOCTOR_PW})
    assert refused.status_code == 403 and "Only the user who asked" in refused.text
    # the requester signs in again: a wrong password gets nothing
    wrong = client.post(f"{PAGE}/{download_id}", data={"csrf": csrf_of(page.text),
                                                       "password": "guess"})
    assert wrong.status_code == 403 and wrong.headers["content-type"].startswith("text/html")
    got = client.post(f"{PAGE}/{download_id}", data={"csrf": csrf_of(page.text),
                                                     "password": DOCTOR_PW})
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert f"chairside-data-{clinic.iid}" in got.headers["content-disposition"]
    (tmp_path / "d.zip").write_bytes(got.content)
    seven = shutil.which("7z")
    if seven:
        out = subprocess.run([seven, "x", "-y", f"-p{DOCTOR_PW}", f"-o{tmp_path / 'x'}",
                              str(tmp_path / "d.zip")], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout
        assert "Lee" in (tmp_path / "x" / "patients.csv").read_text(encoding="utf-8-sig")

    fake_clock.advance(days=7, minutes=1)
    app: Any = client.app
    job.expire_data_downloads(Ctx(app.state.settings, app.state.sessionmaker), {})
    assert not (service.folder(app.state.settings) / f"{download_id}.zip").exists()
    assert doctor_login(client, clinic.iid, "lee", DOCTOR_PW).status_code == 303
    page = client.get(PAGE)
    assert "Expired and deleted" in client.get(PAGE).text
    gone = client.post(f"{PAGE}/{download_id}", data={"csrf": csrf_of(page.text),
                                                      "password": DOCTOR_PW})
    assert gone.status_code == 410
    actions = _actions(client)
    for action in ("download_password_refused", "download_code_sent", "download_code_slowed",
                   "download_code_refused", "download_scheduled", "download_made",
                   "download_retrieve_refused", "download_retrieved", "download_expired"):
        assert action in actions, action


def test_a_code_expires(client: TestClient, clinic: Clinic, codes: KeptCodes,
                        fake_clock: Clock) -> None:
    assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
    asked = _schedule(client, ADMIN_PW)
    assert asked.status_code == 200  # the built-in admin holds it; codes go to the practice
    assert codes.sent[0][0] == "dr@example.com"
    fake_clock.advance(minutes=11)
    late = _confirm(client, asked, codes.last)
    assert late.status_code == 422 and "expired" in late.text
    app: Any = client.app
    job.expire_data_downloads(Ctx(app.state.settings, app.state.sessionmaker), {})
    with app.state.sessionmaker() as s:  # the password sealed with it is wiped
        assert [c.sealed_password for c in s.scalars(select(DownloadCode))] == [None]


def test_the_code_arrives_by_mail(tmp_path: Path, clinic: Clinic, client: TestClient) -> None:
    """The email sender through a real SMTP server."""
    app: Any = client.app
    with smtp_server() as (inbox, port):
        app.state.settings = app.state.settings.model_copy(update={
            "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
        assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
        asked = _schedule(client, ADMIN_PW)
        assert asked.status_code == 200 and "d***@example.com" in asked.text
    (_from, rcpt, content) = inbox.messages[-1]
    assert rcpt == ["dr@example.com"]
    import re
    code = re.search(rb"^\s+(\d{6})\s*$", content, re.M)
    assert code and _confirm(client, asked, code.group(1).decode()).status_code == 200


def test_a_program_user_downloads_through_his_pc(client: TestClient, clinic: Clinic,
                                                 codes: KeptCodes, fake_clock: Clock) -> None:
    """The desktop's Tools ▸ Data download: the PC speaks for its signed-in user, whose
    desktop password (synced as a hash) locks and opens the download."""
    from argon2 import PasswordHasher

    from app.core.ids import new_id

    pc, user = clinic.pc, new_id()
    pc.push(pc.mutation("user", user, {
        "username": "drlee", "display_name": "Dr Lee", "role": "member", "active": True,
        "password_hash": PasswordHasher(time_cost=1, memory_cost=1024,
                                        parallelism=1).hash("lee-desktop-pw")}))

    def api(path: str, expect: int = 200, **body: Any) -> Any:
        r = client.post(f"/api/v1/download/{path}", json={"user_id": user, **body},
                        headers=pc.headers)
        assert r.status_code == expect, r.text
        return r.json() if r.headers["content-type"].startswith("application/json") else r

    status = api("status")
    assert status["allowed"] is False and "Data download — full control" in status["missing"]
    clinic.api("PUT", "/groups/Owners", 204, json={
        "permissions": ["data_download.full_control"],
        "members": {f"user:{user}": "lee@example.org"}})
    assert [g["members"] for g in clinic.api("GET", "/groups")] == [[f"user:{user}"]]
    status = api("status")
    assert status["allowed"] is True
    api("request", 403, password="wrong-pw", run_on=status["first_day"])
    sent = api("request", password="lee-desktop-pw", run_on=status["first_day"])
    assert sent["sent_to"] == "lee@example.org"
    api("confirm", 422, code_id=sent["code_id"], code="12345x")
    made = api("confirm", code_id=sent["code_id"], code=codes.last)
    assert made["status"] == "scheduled"
    fake_clock.advance(days=2)
    _night(client)
    (ready,) = api("status")["downloads"]
    assert ready["status"] == "ready" and ready["size"] > 0
    api("file", 403, password="lee-desktop-pw!", download_id=ready["id"])
    got = api("file", password="lee-desktop-pw", download_id=ready["id"])
    assert got.content[:2] == b"PK"


def test_a_night_that_fails_is_tried_again_then_given_up(
        client: TestClient, clinic: Clinic, codes: KeptCodes, fake_clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up at night: the download shows as failed and the runner's next
    try makes it; one never made is given up after two days, its password forgotten."""
    from cloud.export import csvzip

    assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
    for _ in range(2):
        asked = _schedule(client, ADMIN_PW)
        assert _confirm(client, asked, codes.last).status_code == 200
        fake_clock.advance(minutes=2)
    # Their night is tomorrow at 01:00: a day alone falls short of it when the test runs
    # just after midnight; a day and two hours is past it at any time of day.
    fake_clock.advance(days=1, hours=2)
    real = csvzip.write

    def full(*_a: Any, **_k: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(csvzip, "write", full)
    with pytest.raises(OSError):
        _night(client)
    app: Any = client.app
    with app.state.sessionmaker() as s:
        assert [r.status for r in s.scalars(select(DataDownload).order_by(
            DataDownload.created_at))] == ["failed", "scheduled"]
    monkeypatch.setattr(csvzip, "write", real)
    with app.state.sessionmaker() as s:
        first = s.scalars(select(DataDownload).order_by(DataDownload.created_at)).first()
        assert first is not None
    job.run_data_download(Ctx(app.state.settings, app.state.sessionmaker),
                          {"download_id": first.id})
    fake_clock.advance(days=3)
    job.expire_data_downloads(Ctx(app.state.settings, app.state.sessionmaker), {})
    with app.state.sessionmaker() as s:
        rows = {r.id: r for r in s.scalars(select(DataDownload))}
        assert rows[first.id].status == "ready"
        (other,) = [r for i, r in rows.items() if i != first.id]
        assert other.status == "failed" and other.sealed_password is None
    assert "download_failed" in _actions(client)
