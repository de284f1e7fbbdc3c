"""Findings 12 and 13: refusals never echo what was submitted (passwords included) and
no secret reaches the log; the API's map is off by default, the server does not name
itself, and answers carrying patient data are never cached."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.integration.cloud.conftest import start_server, stop_server
from tests.unit.cloud.portal.support import Clinic
from tests.unit.cloud.support import PC, patient, register_pc, register_practice

SECRET = "Sup3r-secret-guess"


def test_refusals_do_not_echo_secrets_nor_log_them(
        clinic: Clinic, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    http, headers = clinic.pc.http, clinic.pc.headers
    answers = [
        http.put("/api/v1/server/passwords/login", headers=headers,
                 json={"password": SECRET * 10}),
        http.post(f"/api/v1/installations/{clinic.iid}/password",
                  json={"current_password": SECRET, "new_password": SECRET * 20}),
        http.post(f"/api/v1/installations/{clinic.iid}/devices",
                  json={"upload_password": SECRET, "node": "not-a-node"}),
        http.post("/api/v1/server/accounts", headers=headers,
                  json={"name": "x y", "password": SECRET, "extra": SECRET}),
    ]
    for r in answers:
        assert r.status_code == 422, r.text
        assert SECRET not in r.text
        assert r.json()["detail"]
    assert not [rec for rec in caplog.records if SECRET in rec.getMessage()]


def test_docs_are_off_the_server_is_unnamed_and_patient_data_is_not_cached(
        tmp_path: Path) -> None:
    srv = start_server(tmp_path / "data", {"DATABASE_URL": ""})
    try:
        with httpx.Client(base_url=srv.url) as http:
            assert http.get("/docs").status_code == 404
            assert http.get("/openapi.json").status_code == 404
            pc: PC = register_pc(http, *register_practice(http, srv.mail_dir))
            pc.push(patient(pc))
            for r in (http.get("/api/v1/changes", params={"after": 0}, headers=pc.headers),
                      http.get("/health")):
                assert "server" not in r.headers, r.headers
            changes = http.get("/api/v1/changes", params={"after": 0}, headers=pc.headers)
            assert changes.headers["cache-control"] == "no-store"
    finally:
        stop_server(srv)


def test_a_failed_request_is_logged_without_what_was_sent(
        client: object, caplog: pytest.LogCaptureFixture) -> None:
    """The server logs a request that failed as uvicorn does ("Exception in ASGI
    application" with the traceback); the exception's text may quote a password."""
    caplog.set_level(logging.ERROR)
    try:
        raise ValueError(f"1 validation error: password input_value={SECRET!r}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    (record,) = [r for r in caplog.records if r.name == "uvicorn.error"]
    logged = caplog.text
    assert SECRET not in logged
    assert "ValueError" in logged and "test_exposure.py" in logged, "still debuggable"
    assert record.levelno == logging.ERROR
