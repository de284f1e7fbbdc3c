"""Finding 11: reading pages does not write the session on every request (at most once
a minute), so concurrent reads do not fight over SQLite's write lock."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud import sessions
from cloud.portal.models import PortalSession, aware
from tests.unit.cloud.portal.conftest import Clock
from tests.unit.cloud.portal.support import ADMIN_PW, Clinic, doctor_login


def _last_seen(client: TestClient) -> object:
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        return aware(s.scalars(select(PortalSession.last_seen_at)).one())


def test_the_last_request_is_noted_at_most_once_a_minute(
        clinic: Clinic, client: TestClient, fake_clock: Clock) -> None:
    assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
    first = _last_seen(client)
    for _ in range(5):
        fake_clock.advance(seconds=10)
        assert client.get("/doctor/patients", follow_redirects=False).status_code == 200
    assert _last_seen(client) == first, "fifty seconds of reading wrote nothing"
    fake_clock.advance(seconds=sessions.TOUCH_EVERY.total_seconds())
    assert client.get("/doctor/patients", follow_redirects=False).status_code == 200
    assert _last_seen(client) > first  # type: ignore[operator]
