"""Finding 1: upload passwords are throttled before hashing, must be strong, and no
password of the system may be a common one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.core.ids import new_node_id
from cloud import security
from tests.unit.cloud.portal.conftest import Clock
from tests.unit.cloud.portal.support import Clinic


def _register(http: TestClient, iid: str, password: str) -> tuple[int, dict[str, str]]:
    r = http.post(f"/api/v1/installations/{iid}/devices",
                  json={"upload_password": password, "node": new_node_id(), "name": "PC"})
    return r.status_code, dict(r.headers)


def test_guessing_the_upload_password_is_slowed_before_any_hashing(
        practice: tuple[str, str], browser: Callable[[str], TestClient],
        fake_clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    iid, password = practice
    attacker = browser("203.0.113.7")
    answers = [_register(attacker, iid, f"guess-{i}")[0] for i in range(5)]
    assert answers == [403] * 5
    checked: list[str] = []
    real = security.verify_password
    monkeypatch.setattr(security, "verify_password",
                        lambda h, p: checked.append(p) or real(h, p))
    status, headers = _register(attacker, iid, password)
    assert status == 429, "the sixth guess from one address must wait, even the right one"
    assert int(headers["retry-after"]) > 0
    assert checked == [], "a slowed attempt must not be hashed at all"
    # The wait grows with every failure once it is over.
    fake_clock.advance(seconds=int(headers["retry-after"]) + 1)
    assert _register(attacker, iid, "guess-6")[0] == 403
    status, again = _register(attacker, iid, password)
    assert status == 429 and int(again["retry-after"]) > int(headers["retry-after"])
    # The practice's own PC, elsewhere, still gets in.
    assert _register(browser("198.51.100.2"), iid, password)[0] == 201


def test_guesses_spread_over_many_addresses_are_slowed_per_installation(
        practice: tuple[str, str], browser: Callable[[str], TestClient]) -> None:
    iid, password = practice
    for i in range(20):
        assert _register(browser(f"203.0.113.{i + 1}"), iid, f"guess-{i}")[0] == 403
    status, headers = _register(browser("203.0.114.1"), iid, password)
    assert status == 429 and int(headers["retry-after"]) > 0


def test_the_password_change_is_throttled_too(
        practice: tuple[str, str], browser: Callable[[str], TestClient]) -> None:
    iid, password = practice
    attacker = browser("203.0.113.9")
    url = f"/api/v1/installations/{iid}/password"
    body = {"new_password": "velvet orbit muffin glacier"}
    codes = [attacker.post(url, json={**body, "current_password": f"guess-{i}"}).status_code
             for i in range(5)]
    codes.append(attacker.post(url, json={**body, "current_password": password}).status_code)
    assert codes == [403] * 5 + [429]


@pytest.mark.parametrize("weak", ["password", "Password123!", "dentist2024",
                                  "summer-holiday", "abcdefghijklmnop"])
def test_a_weak_or_common_upload_password_is_refused(
        client: TestClient, practice: tuple[str, str], weak: str) -> None:
    iid, password = practice
    url = f"/api/v1/installations/{iid}/password"
    r = client.post(url, json={"current_password": password, "new_password": weak})
    assert r.status_code == 422, r.text
    assert _register(client, iid, weak)[0] == 403, "the weak password must not work"
    assert _register(client, iid, password)[0] == 201, "the old one still works"


def test_a_passphrase_of_four_random_words_is_a_good_upload_password(
        client: TestClient, practice: tuple[str, str]) -> None:
    iid, password = practice
    r = client.post(f"/api/v1/installations/{iid}/password",
                    json={"current_password": password,
                          "new_password": "velvet orbit muffin glacier"})
    assert r.status_code == 204, r.text
    assert _register(client, iid, "velvet orbit muffin glacier")[0] == 201


@pytest.mark.parametrize(("path", "password"), [
    ("/passwords/login", "qwertyuiop123"), ("/passwords/admin", "Administrator1"),
    ("/passwords/general", "iloveyou1"), ("/accounts", "football12345"),
    ("/patients/{ann}/password", "letmein!!"),
])
def test_no_password_of_the_system_may_be_a_common_one(
        clinic: Clinic, path: str, password: str) -> None:
    path = path.format(ann=clinic.patients["Ann"])
    if path == "/accounts":
        clinic.api("POST", path, 422, json={"name": "colleague", "password": password})
    else:
        clinic.api("PUT", path, 422, json={"password": password})
