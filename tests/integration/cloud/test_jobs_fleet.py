"""Two real cloud processes on one database share the jobs: each runs once, and one
whose process is killed mid-way is run again by the other."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud.db import make_engine, make_sessionmaker
from cloud.jobs import enqueue
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.support.waiting import wait_until
from tests.unit.cloud.support import BACKENDS, database_url

TOKEN = "operator-token-for-tests"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=BACKENDS)
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, list[Server]]]:
    with database_url(request.param, tmp_path) as url:
        env = {"DATABASE_URL": url, "CHAIRSIDE_CLOUD_JOB_MODULES": "tests.support.job_handlers",
               "CHAIRSIDE_CLOUD_JOB_POLL_S": "0.05", "CHAIRSIDE_CLOUD_JOB_LEASE_S": "3",
               "CHAIRSIDE_CLOUD_ADMIN_TOKEN": TOKEN}
        servers = [start_server(tmp_path / "one", env)]
        try:
            servers.append(start_server(tmp_path / "two", env))
            yield url, servers
        finally:
            for srv in servers:
                stop_server(srv)


def _enqueue(url: str, kind: str, payloads: list[dict[str, object]]) -> list[str]:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        ids = [enqueue(session, kind, p) for p in payloads]
        session.commit()
    engine.dispose()
    return ids


def _job(server: Server, job_id: str) -> dict[str, object]:
    body: dict[str, object] = httpx.get(f"{server.url}/api/v1/admin/jobs/{job_id}",
                                        headers=ADMIN, timeout=10).json()
    return body


def test_each_job_runs_once_across_two_processes(
        fleet: tuple[str, list[Server]], tmp_path: Path) -> None:
    url, servers = fleet
    log = tmp_path / "runs.log"
    ids = _enqueue(url, "test.record", [{"log": str(log), "hold": 0.02}] * 40)
    wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= 40, timeout=60)
    wait_until(lambda: all(_job(servers[0], i)["status"] == "succeeded" for i in ids))
    runs = [line.split() for line in log.read_text().splitlines()]
    assert Counter(r[0] for r in runs) == dict.fromkeys(ids, 1)
    assert {r[2] for r in runs} == {"1"}  # no job needed a second attempt
    assert {r[1] for r in runs} <= {str(s.proc.pid) for s in servers}


def test_a_job_whose_process_is_killed_is_run_by_the_other(
        fleet: tuple[str, list[Server]], tmp_path: Path) -> None:
    url, servers = fleet
    log = tmp_path / "stall.log"
    [job_id] = _enqueue(url, "test.stall_first", [{"log": str(log)}])
    wait_until(lambda: log.exists() and log.read_text().startswith("start"))
    first = int(log.read_text().split()[1])
    os.kill(first, signal.SIGKILL)
    victim = next(s for s in servers if s.proc.pid == first)
    victim.proc.wait(10)
    other = next(s for s in servers if s.proc.pid != first)
    # The lease lapses (the killed process renews it no more) and the other one claims it.
    wait_until(lambda: _job(other, job_id)["status"] == "succeeded", timeout=60)
    assert log.read_text().splitlines() == [f"start {first} 1", f"start {other.proc.pid} 2",
                                            f"done {other.proc.pid} 2"]
    assert _job(other, job_id)["attempts"] == 2
