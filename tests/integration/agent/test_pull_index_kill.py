"""The agent killed (SIGKILL) after a first pull's patients were stored and before their
search index was built: the next start builds it, and every patient is found."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.platform.secrets import SecretStore
from app.store.db import Database, open_database
from app.store.models import Patient
from app.store.patients import search_index
from app.store.services import Store
from sync_agent import connection
from tests.integration.agent.test_agent_process import NoKeyring
from tests.support.waiting import wait_until
from tests.unit.cloud.support import patient, register_pc, register_practice
from tests.unit.test_pull_index import found, index_rows, one_at_a_time, pending

ROOT = Path(__file__).resolve().parents[3]
PATIENTS = 3 * search_index.DEFER_AT  # a first pull that defers the index
TRIES = 5  # a kill that comes after the index was built is tried again on a new PC


def agent(db: Database) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sync_agent", "--database", str(db.path), "--tick", "0.05",
         "--pull-every", "0.5"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def killed_before_the_index(db: Database) -> bool:
    """Run the agent until the pulled patients are stored with the note that their
    index waits, and kill it there; False when the index was built before the kill."""
    proc = agent(db)
    end = time.monotonic() + 120
    try:
        # Polled without a pause: the window between the two is a fraction of a second.
        while pending(Store.over(db)) is None:
            assert proc.poll() is None, "the agent stopped"
            assert time.monotonic() < end, "the pull never came"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    return pending(Store.over(db)) is not None


def test_an_agent_killed_before_the_index_is_built_builds_it_at_its_next_start(
    cloud, tmp_path: Path
) -> None:
    secrets = SecretStore(NoKeyring())
    with httpx.Client(base_url=cloud.url, timeout=60) as http:
        inst, password = register_practice(http, cloud.mail_dir, "index@example.com")
        other = register_pc(http, inst, password, "front desk")
        made = [patient(other, last_name="Indexed", email=f"p{i}@example.com",
                        mobile=f"0151 {i:07d}") for i in range(PATIENTS)]
        for i in range(0, PATIENTS, 500):
            other.push(*made[i : i + 500])
    for attempt in range(TRIES):
        db = open_database(tmp_path / f"pc{attempt}.chairside", secrets, allow_key_file=True)
        connection.register_device(db, secrets, cloud.url, inst, password)
        if killed_before_the_index(db):
            break
        db.close()
    else:
        raise AssertionError("the index was always built before the kill landed")
    store = Store.over(db)
    admin = store.users.create("admin", "Admin", "correct horse", "admin")
    v = admin.viewer()
    with db.read() as s:
        assert s.query(Patient).count() >= search_index.DEFER_AT
    # A surname prefix is read from the patients table itself; a part of a phone number only
    # from the search index, so it tells whether the index was built.
    assert len(found(store, v, "0151")) < PATIENTS  # not all searchable yet

    proc = agent(db)
    try:
        wait_until(lambda: pending(store) is None and len(found(store, v, "0151")) == PATIENTS,
                 timeout=120)
    finally:
        proc.terminate()
        proc.wait(60)
    assert index_rows(store) == one_at_a_time(store)
    for i in (0, PATIENTS // 2, PATIENTS - 1):
        [p] = found(store, v, f"p{i}@example.com")
        assert p == made[i]["entity_id"]
        assert found(store, v, f"0151{i:07d}") == {p}
    assert db.integrity_check() == "ok"
    db.close()
