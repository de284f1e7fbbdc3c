"""The data download's night job on two real cloud processes sharing one database and
one data folder (as deploy/ runs them): it is made once, by one of them, and the
requester retrieves it through the other."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from cloud.db import make_engine, make_sessionmaker
from cloud.export.models import DataDownload
from cloud.jobs.models import Job
from cloud.models import utcnow
from cloud.portal.models import AuditEntry
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.support.waiting import wait_until
from tests.unit.cloud.portal.support import ADMIN_PW, csrf_of, doctor_login, seed
from tests.unit.cloud.support import BACKENDS, database_url, register_pc, register_practice


@pytest.fixture(params=BACKENDS)
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, list[Server]]]:
    with database_url(request.param, tmp_path) as url:
        env = {"DATABASE_URL": url, "CHAIRSIDE_CLOUD_JOB_POLL_S": "0.05"}
        servers = [start_server(tmp_path / "data", env)]
        try:
            servers.append(start_server(tmp_path / "data", env))
            yield url, servers
        finally:
            for srv in servers:
                stop_server(srv)


def _code(mail_dir: Path) -> str:
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns,
                       reverse=True):
        text = path.read_text()
        found = re.search(r"^\s+(\d{6})\s*$", text, re.M)
        if found and "data download" in text:
            return found.group(1)
    raise AssertionError("no code was mailed")


def test_the_night_job_runs_once_and_either_process_hands_it_out(
        two: tuple[str, list[Server]]) -> None:
    url, (one, other) = two
    with httpx.Client(base_url=one.url, timeout=60) as http:
        clinic = seed(register_pc(http, *register_practice(http, one.mail_dir)))
        assert doctor_login(http, clinic.iid, "admin", ADMIN_PW).status_code == 303
        page = http.get("/doctor/download")
        asked = http.post("/doctor/download/schedule",
                          data={"csrf": csrf_of(page.text), "password": ADMIN_PW})
        code_id = re.search(r'name="code_id" value="([^"]+)"', asked.text)
        assert code_id, asked.text
        done = http.post("/doctor/download/confirm", data={
            "csrf": csrf_of(asked.text), "code_id": code_id.group(1),
            "code": _code(one.mail_dir)}, follow_redirects=True)
        assert done.status_code == 200 and "is scheduled" in done.text
        cookies = dict(http.cookies)

    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    with maker() as s:  # the night comes: the job and its download are due now
        s.execute(update(Job).where(Job.kind == "data_download.build")
                  .values(run_at=utcnow()))
        s.execute(update(DataDownload).values(run_at=utcnow()))
        s.commit()

    def made() -> bool:
        with maker() as s:
            return s.scalar(select(Job.status).where(
                Job.kind == "data_download.build")) in ("succeeded", "failed")

    wait_until(made, timeout=60)
    with maker() as s:
        download = s.scalar(select(DataDownload))
        assert download is not None and download.status == "ready"
        assert download.sealed_password is None
        (job,) = s.scalars(select(Job).where(Job.kind == "data_download.build"))
        assert (job.status, job.attempts) == ("succeeded", 1)
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "download_made", AuditEntry.target == download.id)) == 1
    engine.dispose()

    with httpx.Client(base_url=other.url, timeout=60, cookies=cookies) as http:
        page = http.get("/doctor/download")
        assert "Ready" in page.text
        got = http.post(f"/doctor/download/{download.id}",
                        data={"csrf": csrf_of(page.text), "password": ADMIN_PW})
        assert got.status_code == 200 and got.content[:2] == b"PK"
