"""Registration, upload passwords and device credentials."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from cloud.config import Settings
from tests.unit.cloud.support import PC, read_password, register_pc


def test_registration_mails_a_password_that_registers_devices(
    client: TestClient, settings: Settings, practice: tuple[str, str]
) -> None:
    iid, password = practice
    assert len(iid) == 12 and iid.isdigit()
    assert len(password) >= 16
    pc = register_pc(client, iid, password)
    assert client.get("/api/v1/devices", headers=pc.headers).status_code == 200


def test_password_never_logged(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = client.post("/api/v1/installations", json={"email": "a@b.example"})
    iid = r.json()["installation_id"]
    password = read_password(settings.mail_dir, iid)
    assert "written to" in caplog.text
    assert password not in caplog.text


def test_wrong_password_is_refused(client: TestClient, practice: tuple[str, str]) -> None:
    iid, _ = practice
    r = client.post(f"/api/v1/installations/{iid}/devices",
                    json={"upload_password": "not-it-at-all", "node": "0123456789abcdef"})
    assert r.status_code == 403
    r = client.post("/api/v1/installations/999999999999/devices",
                    json={"upload_password": "whatever1", "node": "0123456789abcdef"})
    assert r.status_code == 403


def test_resend_keeps_the_old_password_until_the_new_one_is_used(
    client: TestClient, settings: Settings, practice: tuple[str, str]
) -> None:
    iid, old = practice
    r = client.post(f"/api/v1/installations/{iid}/password/resend")
    assert r.status_code == 202
    assert r.json()["sent_to"] == "d***@example.com"
    new = read_password(settings.mail_dir, iid)
    assert new != old
    register_pc(client, iid, old)  # still valid
    register_pc(client, iid, new)  # now the new one is current
    r = client.post(f"/api/v1/installations/{iid}/devices",
                    json={"upload_password": old, "node": "0123456789abcdef"})
    assert r.status_code == 403


def test_resend_is_rate_limited(client: TestClient, settings: Settings,
                                practice: tuple[str, str]) -> None:
    settings.password_mail_interval_s = 3600
    r = client.post(f"/api/v1/installations/{practice[0]}/password/resend")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0


def test_change_password_needs_the_current_one(
    client: TestClient, practice: tuple[str, str]
) -> None:
    iid, old = practice
    url = f"/api/v1/installations/{iid}/password"
    new = "quiet lantern tofu orbit"
    r = client.post(url, json={"current_password": "wrong-one", "new_password": new})
    assert r.status_code == 403
    r = client.post(url, json={"current_password": old, "new_password": new})
    assert r.status_code == 204
    register_pc(client, iid, new)
    r = client.post(f"/api/v1/installations/{iid}/devices",
                    json={"upload_password": old, "node": "0123456789abcdef"})
    assert r.status_code == 403


def test_one_pc_is_revoked_alone(client: TestClient, pc: PC, pc2: PC) -> None:
    r = client.delete(f"/api/v1/devices/{pc2.device_id}", headers=pc.headers)
    assert r.status_code == 204
    assert client.get("/api/v1/changes", headers=pc2.headers).status_code == 401
    assert client.get("/api/v1/changes", headers=pc.headers).status_code == 200
    devices = client.get("/api/v1/devices", headers=pc.headers).json()
    assert {d["device_id"]: d["revoked_at"] is not None for d in devices} == {
        pc.device_id: False, pc2.device_id: True}


def test_revoke_with_the_upload_password(client: TestClient, practice: tuple[str, str],
                                         pc: PC) -> None:
    iid, password = practice
    url = f"/api/v1/installations/{iid}/devices/{pc.device_id}/revoke"
    assert client.post(url, json={"upload_password": "nope-nope"}).status_code == 403
    assert client.post(url, json={"upload_password": password}).status_code == 204
    assert client.get("/api/v1/devices", headers=pc.headers).status_code == 401


def test_device_of_another_practice_can_not_be_revoked(client: TestClient, pc: PC,
                                                       stranger: PC) -> None:
    r = client.delete(f"/api/v1/devices/{pc.device_id}", headers=stranger.headers)
    assert r.status_code == 404
    assert client.get("/api/v1/devices", headers=pc.headers).status_code == 200


def test_registering_again_replaces_the_pcs_token(client: TestClient,
                                                  practice: tuple[str, str], pc: PC) -> None:
    iid, password = practice
    r = client.post(f"/api/v1/installations/{iid}/devices",
                    json={"upload_password": password, "node": pc.node})
    assert r.status_code == 201
    assert client.get("/api/v1/devices", headers=pc.headers).status_code == 401
    fresh = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/v1/devices", headers=fresh).status_code == 200


@pytest.mark.parametrize("body", [
    {"email": 12},
    {"email": "no-at-sign"},
    {"email": "a@b.example", "extra": 1},
    {},
    {"email": None},
])
def test_registration_input_is_strict(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/api/v1/installations", json=body).status_code == 422


@pytest.mark.parametrize("body", [
    {"upload_password": "x" * 10, "node": 123},
    {"upload_password": 12345678, "node": "0123456789abcdef"},
    {"upload_password": "x" * 10, "node": "0123456789ABCDEF"},
    {"upload_password": "x" * 10, "node": "0123456789abcdef", "name": False},
])
def test_device_input_is_strict(client: TestClient, practice: tuple[str, str],
                                body: dict[str, object]) -> None:
    r = client.post(f"/api/v1/installations/{practice[0]}/devices", json=body)
    assert r.status_code == 422


def test_unauthenticated_requests_are_refused(client: TestClient) -> None:
    assert client.get("/api/v1/changes").status_code == 401
    r = client.get("/api/v1/changes", headers={"Authorization": "Bearer csd_forged"})
    assert r.status_code == 401
