"""Finding 5: password hashing runs a few at a time and answers "busy" with Retry-After
beyond them; registrations are slowed per address."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app.core.ids import new_node_id
from cloud import security
from cloud.portal import throttle
from tests.integration.cloud.conftest import start_server, stop_server
from tests.unit.cloud.portal.support import ADMIN_PW, Clinic, doctor_login
from tests.unit.cloud.support import register_pc, register_practice


def test_beyond_the_hashing_slots_a_password_check_is_told_to_come_back(
        practice: tuple[str, str], client: TestClient, clinic: Clinic) -> None:
    iid, password = practice
    body = {"upload_password": password, "node": new_node_id(), "name": "PC"}
    held = 0
    try:
        while security._slots.acquire(blocking=False):  # every slot busy hashing
            held += 1
        assert held == security.HASH_SLOTS
        r = client.post(f"/api/v1/installations/{iid}/devices", json=body)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
        login = doctor_login(client, clinic.iid, "admin", ADMIN_PW)
        assert login.status_code == 503 and int(login.headers["Retry-After"]) > 0
        # A device already registered does not hash: its sync goes on.
        assert client.get("/api/v1/changes", headers=clinic.pc.headers).status_code == 200
    finally:
        for _ in range(held):
            security._slots.release()
    assert client.post(f"/api/v1/installations/{iid}/devices", json=body).status_code == 201


def test_registrations_are_slowed_per_address(browser: Callable[[str], TestClient]) -> None:
    flood = browser("203.0.113.50")
    codes = [flood.post("/api/v1/installations", json={"email": f"x{i}@example.com"})
             .status_code for i in range(throttle.FREE_WIDE + 1)]
    assert codes == [201] * throttle.FREE_WIDE + [429]
    r = flood.post("/api/v1/installations", json={"email": "late@example.com"})
    assert int(r.headers["Retry-After"]) > 0
    other = browser("198.51.100.9")
    assert other.post("/api/v1/installations", json={"email": "dr@example.com"}
                      ).status_code == 201


def test_a_flood_of_wrong_upload_passwords_gets_no_server_error(tmp_path: Path) -> None:
    """Many clients guessing at once, on the real server and SQLite: every answer is a
    refusal (403, 429, or 503 "busy"), never a failure, and a PC's sync goes on."""
    srv = start_server(tmp_path / "data", {"DATABASE_URL": ""})
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as http:
            iid, password = register_practice(http, srv.mail_dir)
            pc = register_pc(http, iid, password)
            answers: list[int] = []

            def guess(i: int) -> None:
                with httpx.Client(base_url=srv.url, timeout=60) as c:
                    for n in range(4):
                        answers.append(c.post(
                            f"/api/v1/installations/{iid}/devices",
                            json={"upload_password": f"guess-{i}-{n}",
                                  "node": new_node_id()}).status_code)

            threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
            for t in threads:
                t.start()
            pc.pull()
            for t in threads:
                t.join()
        assert len(answers) == 16 * 4
        assert set(answers) <= {403, 429, 503}, sorted(set(answers))
    finally:
        stop_server(srv)
