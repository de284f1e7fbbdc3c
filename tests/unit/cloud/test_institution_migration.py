"""Data migration between two clinics in an in-process cloud, on SQLite and on
PostgreSQL: the code expires by the cloud's clock, a used one is refused, and a
succeeded move hands each row to the receiver's change log whole and the sender's as
a deletion, in the receiver's order (a patient before its visit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.ids import new_id
from cloud import security
from cloud.institutions.migration_job import MIGRATION_NODE
from cloud.portal import clock
from tests.support.waiting import wait_until
from tests.unit.cloud.support import PC, patient


def _admin(client: TestClient, pc: PC) -> str:
    """The practice's administrator, synced, and its clinic made."""
    uid = new_id()
    pc.push(pc.mutation("user", uid, {
        "username": f"boss{uid[-4:]}", "display_name": "Boss", "role": "admin",
        "active": True, "password_hash": security.hash_password("correct horse battery")}))
    shown = client.get("/api/v1/institution", params={"user_id": uid}, headers=pc.headers)
    assert shown.status_code == 200, shown.text
    return uid


def _ask(client: TestClient, pc: PC, uid: str, path: str, **body: Any) -> Any:
    return client.post(f"/api/v1/institution/migration{path}", headers=pc.headers,
                       json={"user_id": uid, **body})


def _code_of(client: TestClient, pc: PC) -> str:
    shown = client.get("/api/v1/institution", params={"user_id": _admin(client, pc)},
                       headers=pc.headers)
    return str(shown.json()["code"])


def test_codes_and_a_move_through_the_change_logs(
        client: TestClient, pc: PC, stranger: PC, monkeypatch: pytest.MonkeyPatch) -> None:
    sender, receiver = _admin(client, pc), _admin(client, stranger)
    receiver_code = _code_of(client, stranger)
    ann = patient(pc, first_name="Ann")
    visit = pc.mutation("visit", new_id(), {"patient_id": ann["entity_id"],
                                            "visit_date": "2026-11-02"})
    pc.push(ann, visit)

    code = _ask(client, stranger, receiver, "/code").json()["code"]
    later = clock.now() + dt.timedelta(hours=24, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    expired = _ask(client, pc, sender, "", receiver=receiver_code, code=code)
    assert expired.status_code == 422 and "expired" in expired.json()["detail"]
    monkeypatch.undo()

    code = _ask(client, stranger, receiver, "/code").json()["code"]
    started = _ask(client, pc, sender, "", receiver=receiver_code, code=code)
    assert started.status_code == 200, started.text
    def ended() -> dict[str, Any] | None:
        [m] = client.get("/api/v1/institution/migration", params={"user_id": sender},
                         headers=pc.headers).json()["migrations"]
        return m if m["status"] not in ("queued", "running") else None

    m = wait_until(ended, 15, message="the migration to end")
    assert (m["status_words"], m["moved"]) == ("Succeeded", 2)
    used = _ask(client, pc, sender, "", receiver=receiver_code, code=code)
    assert used.status_code == 422 and "used already" in used.json()["detail"]

    moved = {ann["entity_id"], visit["entity_id"]}
    arrived = [c for c in stranger.pull_all() if c["entity_id"] in moved]
    assert [c["entity"] for c in arrived] == ["patient", "visit"]
    assert arrived[0]["fields"]["first_name"]["value"] == "Ann"
    assert {c["origin_node"] for c in arrived} == {MIGRATION_NODE}
    left = [c for c in pc.pull_all() if c["entity_id"] in moved
            and c["origin_node"] == MIGRATION_NODE]
    assert len(left) == 2 and all(c["fields"] == {"deleted": c["fields"]["deleted"]}
                                  and c["fields"]["deleted"]["value"] is True for c in left)
    gone = client.get(f"/api/v1/records/{ann['entity_id']}", headers=pc.headers)
    assert gone.status_code in (403, 404)
    here = client.get(f"/api/v1/records/{ann['entity_id']}", headers=stranger.headers)
    assert here.status_code == 200 and here.json()["fields"]["deleted"]["value"] is False
