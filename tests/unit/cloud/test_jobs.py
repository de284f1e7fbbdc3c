"""The job runner in one process, on SQLite and PostgreSQL: claims, retries, the status
the admin reads (the fleet's behaviour is in tests/integration/cloud/test_jobs_fleet.py)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import tests.support.job_handlers  # noqa: F401 - registers the test job kinds
from cloud.config import Settings
from cloud.db import make_engine, make_sessionmaker
from cloud.jobs import enqueue, queue
from cloud.jobs.registry import SCHEDULES
from cloud.main import create_app
from cloud.migrate import upgrade
from cloud.models import utcnow
from tests.support.waiting import wait_until
from tests.unit.cloud.support import register_pc, register_practice
from tests.unit.cloud.test_tus import create, head

ONE_SECOND = dt.timedelta(seconds=1)
ADMIN = {"Authorization": "Bearer operator-token-for-tests"}


@pytest.fixture
def app_settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "cloud", database_url=db_url, job_poll_s=0.05,
                    job_retry_base_s=0.05, admin_token="operator-token-for-tests")


@pytest.fixture
def http(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as c:
        yield c


def _enqueue(http: TestClient, kind: str, payload: dict[str, object], **kw: object) -> str:
    with http.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        job_id = enqueue(session, kind, payload, **kw)  # type: ignore[arg-type]
        session.commit()
    http.app.state.jobs.wake()  # type: ignore[attr-defined]
    return job_id


def _job(http: TestClient, job_id: str) -> dict[str, object]:
    r = http.get(f"/api/v1/admin/jobs/{job_id}", headers=ADMIN)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_a_failing_job_is_retried_and_its_last_error_is_shown(
        http: TestClient, tmp_path: Path) -> None:
    log = tmp_path / "ok.txt"
    flaky = _enqueue(http, "test.fail", {"reason": "the mail server is away",
                                         "succeed_at": 3, "log": str(log)})
    doomed = _enqueue(http, "test.fail", {"reason": "the practice was dissolved",
                                          "log": str(tmp_path / "never")}, max_attempts=2)
    wait_until(lambda: _job(http, flaky)["status"] == "succeeded"
               and _job(http, doomed)["status"] == "failed")
    assert log.read_text() == "succeeded at 3"
    assert _job(http, flaky)["attempts"] == 3
    failed = _job(http, doomed)
    assert failed["attempts"] == 2 and failed["last_error"] == "the practice was dissolved"
    listing = http.get("/api/v1/admin/jobs", params={"status": "failed"}, headers=ADMIN).json()
    assert [j["id"] for j in listing["jobs"]] == [doomed]
    assert listing["counts"]["failed"] == 1
    # The operator runs it again: its attempts are renewed and it fails once more.
    assert http.post(f"/api/v1/admin/jobs/{doomed}/retry", headers=ADMIN).status_code == 200
    wait_until(lambda: _job(http, doomed)["status"] == "failed"
               and _job(http, doomed)["attempts"] == 2)


def test_the_admin_api_needs_the_operator_token(http: TestClient, tmp_path: Path) -> None:
    assert http.get("/api/v1/admin/jobs").status_code == 401
    assert http.get("/api/v1/admin/jobs",
                    headers={"Authorization": "Bearer guess"}).status_code == 401
    with TestClient(create_app(Settings(data_dir=tmp_path / "other"))) as plain:
        assert plain.get("/api/v1/admin/jobs", headers=ADMIN).status_code == 404


def test_the_chores_are_periodic_jobs(http: TestClient) -> None:
    jobs = http.get("/api/v1/admin/jobs", params={"limit": 1000}, headers=ADMIN).json()["jobs"]
    chores = [j for j in jobs if str(j["kind"]).startswith("chores.")]
    assert len(chores) == len(SCHEDULES) and {j["status"] for j in chores} == {"queued"}
    assert {j["schedule"] for j in chores} == {j["kind"] for j in chores}


def test_an_expired_upload_is_removed_by_its_chore(tmp_path: Path, db_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "cloud", database_url=db_url, job_poll_s=0.05,
                        upload_expiry_hours=0.2 / 3600, admin_token="operator-token-for-tests")
    with TestClient(create_app(settings)) as c:
        pc = register_pc(c, *register_practice(c, settings.mail_dir))
        url = create(pc, b"x" * 1000).headers["Location"]
        part = settings.uploads_dir / f"{url.rsplit('/', 1)[1]}.part"
        assert part.exists()
        # Its round, brought forward (the schedule's own comes every chores_every_s).
        job_id = _enqueue(c, "chores.expire_uploads", {}, run_at=utcnow() + ONE_SECOND)
        wait_until(lambda: _job(c, job_id)["status"] == "succeeded")
        assert not part.exists()
        assert head(pc, url).status_code == 404


def test_concurrent_claimers_take_each_job_once(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    maker = make_sessionmaker(engine)
    with maker() as session:
        ids = {enqueue(session, "test.record", {"log": "unused"}) for _ in range(60)}
        session.commit()
    taken: list[str] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        with maker() as session:
            while (c := queue.claim(session, kinds=["test.record"], worker=f"w{n}",
                                    lease_s=60)) is not None:
                with lock:
                    taken.append(c.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(taken) == sorted(ids)
    engine.dispose()


def test_a_practice_sees_its_own_jobs_only(http: TestClient, app_settings: Settings,
                                           tmp_path: Path) -> None:
    mine = register_pc(http, *register_practice(http, app_settings.mail_dir))
    other = register_pc(http, *register_practice(http, app_settings.mail_dir, "b@example.org"))
    job_id = _enqueue(http, "test.fail", {"reason": "the export could not be written",
                                          "log": str(tmp_path / "x")},
                      installation_id=mine.installation_id, max_attempts=1)
    wait_until(lambda: _job(http, job_id)["status"] == "failed")
    seen = http.get("/api/v1/jobs", headers=mine.headers).json()
    assert [(j["id"], j["last_error"]) for j in seen] == [
        (job_id, "the export could not be written")]
    assert http.get("/api/v1/jobs", headers=other.headers).json() == []
    assert http.get("/api/v1/jobs").status_code == 401
