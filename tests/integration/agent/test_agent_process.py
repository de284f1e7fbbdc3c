"""The agent as a real process: connect, run, one per database, stop cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.platform.secrets import SecretStore
from app.store.db import open_database
from app.store.services import Store
from app.store.sync.agent_repo import AgentRepo
from app.store.sync.sync_repo import SyncRepo
from tests.support.institutions import lab_requests, make_lab
from tests.support.memkeyring import MemoryKeyring
from tests.support.waiting import wait_until
from tests.unit.cloud.support import read_password

ROOT = Path(__file__).resolve().parents[3]


class NoKeyring(MemoryKeyring):
    """What a headless PC has: no secure keyring (the user agreed to a key file)."""

    priority = 0  # type: ignore[assignment]


def agent(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_agent", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        **kw,
    )  # type: ignore[call-overload]


@pytest.fixture
def practice(tmp_path: Path) -> Store:
    db = open_database(tmp_path / "clinic.chairside", SecretStore(NoKeyring()), allow_key_file=True)
    store = Store.over(db)
    yield store
    db.close()


def test_connect_run_and_stop_the_agent(practice: Store, cloud, tmp_path: Path) -> None:
    path = str(practice.db.path)
    first = agent(
        "--database", path, "connect", "--server", cloud.url, "--email", "front.desk@example.com"
    )
    assert first.returncode == 0, first.stderr
    assert " INFO " not in first.stdout + first.stderr  # no library chatter
    inst = first.stdout.split("Installation ID: ")[1].split(".")[0]
    password = read_password(cloud.mail_dir, inst)
    wrong = agent(
        "--database",
        path,
        "connect",
        "--server",
        cloud.url,
        "--installation",
        inst,
        "--password-stdin",
        input="not the password\n",
    )
    assert wrong.returncode == 1 and "refused" in wrong.stderr
    assert "not the password" not in wrong.stderr + wrong.stdout
    name = f"Sunrise Dental {inst}"
    practice.settings.set("practice_name", name)
    joined = agent(
        "--database",
        path,
        "connect",
        "--server",
        cloud.url,
        "--installation",
        inst,
        "--password-stdin",
        input=password + "\n",
    )
    assert joined.returncode == 0, joined.stderr
    assert password not in joined.stdout + joined.stderr
    # Labs find the practice as soon as its PC joined, by its name or by its code.
    code = joined.stdout.split("institution code ")[1].split(".")[0]
    db_url = f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}"
    by_name, by_code = make_lab(db_url, "Name Lab"), make_lab(db_url, "Code Lab")
    assert "was sent" in lab_requests(cloud.url, by_name, name)
    assert "was sent" in lab_requests(cloud.url, by_code, code)

    admin = practice.users.create("admin", "Admin", "correct horse", "admin")
    practice.patients.create(admin.viewer(), {"first_name": "Aylin", "last_name": "Kaya"})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync_agent",
            "--database",
            path,
            "--tick",
            "0.2",
            "--pull-every",
            "0.5",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = AgentRepo(practice.db)
        wait_until(lambda: status.status().running, message="the agent to run")
        wait_until(lambda: SyncRepo(practice.db).outbox_counts() == (0, 0),
                   message="an empty outbox")
        wait_until(lambda: status.status().online, message="the agent to go online")
        assert status.status().describe() == "Service is running — everything is up to date"
        second = agent("--database", path)
        assert second.returncode == 0 and "already running" in second.stdout
        # The app asks it to sync now; a new change goes up within seconds.
        practice.patients.create(admin.viewer(), {"first_name": "Deniz", "last_name": "Kaya"})
        request = status.request("sync_now")
        wait_until(lambda: status.request_done(request) is not None,
                   message="the agent to answer 'sync now'")
        wait_until(lambda: SyncRepo(practice.db).outbox_counts() == (0, 0),
                   message="an empty outbox")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not AgentRepo(practice.db).status().running
    assert AgentRepo(practice.db).status().describe() == "Sync service is not running"


def test_a_killed_agent_leaves_no_stale_lock(practice: Store) -> None:
    path = str(practice.db.path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync_agent", "--database", path, "--tick", "0.2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "sync agent: running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    again = subprocess.Popen(
        [sys.executable, "-m", "sync_agent", "--database", path, "--tick", "0.2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert again.stdout is not None
        assert again.stdout.readline().strip() == "sync agent: running"
        status = AgentRepo(practice.db).status()
        wait_until(lambda: AgentRepo(practice.db).status().last_error is not None)
        assert "not connected" in AgentRepo(practice.db).status().describe()
        del status
    finally:
        again.terminate()
        again.wait(30)


def test_no_database_is_a_clear_message(tmp_path: Path) -> None:
    result = agent("--database", str(tmp_path / "missing.chairside"))
    assert result.returncode == 1
    assert "There is no practice database" in result.stderr
    assert "Traceback" not in result.stderr


def test_connect_without_a_terminal_says_to_use_password_stdin(practice: Store) -> None:
    result = agent(
        "--database", str(practice.db.path), "connect", "--server", "http://127.0.0.1:9",
        "--installation", "0192a0b0-0000-7000-8000-000000000001",
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 2
    assert "--password-stdin" in result.stderr
    assert "Traceback" not in out and "EOFError" not in out
    assert " INFO " not in out
