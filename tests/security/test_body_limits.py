"""Finding 4: every route limits its body (size, and for forms the number of fields)
before anything parses it; the portal takes no multipart bodies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cloud.api.middleware import FORM_MAX, MAX_FORM_FIELDS
from tests.unit.cloud.portal.support import ADMIN_PW, Clinic, csrf_of, doctor_login

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("path", ["/patient/login", "/doctor/login", "/account/setup",
                                  "/health", "/doctor/logout"])
def test_a_large_anonymous_form_is_refused_before_parsing(client: TestClient,
                                                          path: str) -> None:
    body = b"a=" + b"x" * (1024 * 1024)  # one field of 1 MB
    r = client.post(path, content=body, headers=FORM)
    assert r.status_code == 413, r.text


def test_a_large_body_without_a_length_is_cut_off_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 16384

    r = client.post("/patient/login", content=chunks(), headers=FORM)
    assert r.status_code == 413


def test_a_form_with_many_fields_is_refused(client: TestClient) -> None:
    body = "&".join(f"f{i}=1" for i in range(1000)).encode()
    assert len(body) < FORM_MAX
    r = client.post("/patient/login", content=body, headers=FORM)
    assert r.status_code == 413
    assert str(MAX_FORM_FIELDS) in r.json()["detail"]


def test_the_portal_takes_no_multipart_forms(client: TestClient) -> None:
    r = client.post("/patient/login", files={"card": ("card.txt", b"x" * 1000)})
    assert r.status_code == 415


def test_the_longest_note_still_goes_through(clinic: Clinic, client: TestClient) -> None:
    assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
    ann = clinic.patients["Ann"]
    page = client.get(f"/doctor/patients/{ann}")
    note = "\U0001f9b7" * 4000  # the widest characters, as many as a note may hold
    r = client.post(f"/doctor/patients/{ann}/notes",
                    data={"body": note, "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
