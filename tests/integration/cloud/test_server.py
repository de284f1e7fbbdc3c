"""`python -m cloud` as a user runs it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.core.ids import new_id
from tests.integration.cloud.conftest import ROOT, Server, start_server, stop_server
from tests.unit.cloud.support import patient, register_pc, register_practice


def test_zero_configuration_start(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "data", {"DATABASE_URL": ""})
    try:
        with httpx.Client(base_url=srv.url) as http:
            pc = register_pc(http, *register_practice(http, srv.mail_dir))
            pid = new_id()
            pc.push(patient(pc, pid))
            assert pc.pull()["changes"][0]["entity_id"] == pid
            assert http.get("/openapi.json").status_code == 404  # off unless enabled
        assert (tmp_path / "data" / "cloud.sqlite3").is_file()
    finally:
        stop_server(srv)


def test_sync_between_two_pcs_over_http(server: Server, http: httpx.Client) -> None:
    iid, password = register_practice(http, server.mail_dir)
    a, b = register_pc(http, iid, password), register_pc(http, iid, password)
    pid = new_id()
    a.push(patient(a, pid, first_name="Ann"))
    b.push(b.mutation("visit", new_id(), {"patient_id": pid, "visit_date": "2024-05-01"}))
    seen_by_a = a.pull_all(exclude_own=True)
    assert [c["entity"] for c in seen_by_a] == ["visit"]


def test_refuses_a_newer_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = start_server(data, {"DATABASE_URL": ""})
    stop_server(srv)
    engine = create_engine(f"sqlite:///{data / 'cloud.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_newer'"))
    engine.dispose()
    proc = subprocess.run([sys.executable, "-m", "cloud", "--port", "0", "--data", str(data)],
                          cwd=ROOT, capture_output=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "DATABASE_URL": ""})
    assert proc.returncode == 2
    assert b"newer than this server" in proc.stderr


def test_cloud_never_loads_qt() -> None:
    code = "import sys, cloud.__main__, cloud.main; sys.exit('PySide6' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_a_port_taken_before_the_cloud_binds_it_is_left_for_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.cloud import conftest

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        chosen = iter([busy])
        real = conftest.free_port
        monkeypatch.setattr(conftest, "free_port", lambda: next(chosen, None) or real())
        srv = start_server(tmp_path / "data")
        try:
            assert not srv.url.endswith(f":{busy}")
            assert httpx.get(srv.url + "/health", timeout=5).status_code == 200
        finally:
            stop_server(srv)
