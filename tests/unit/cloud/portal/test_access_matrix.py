"""Every kind of caller × every patient × every read path: nothing unauthorized is read,
and everything authorized is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.cloud.portal.support import (
    ADMIN_PW,
    DAY,
    DOCTOR_PW,
    GENERAL_PW,
    Clinic,
    doctor_login,
    file_image,
    patient_login,
    picture,
    seed,
)
from tests.unit.cloud.support import PC

ALL = {"Ann", "Ben", "Cat"}


def _reads(http: TestClient, clinic: Clinic,
           images: dict[str, str] | None = None) -> dict[tuple[str, str], bool]:
    """(path, patient) -> whether that patient's data came back on that path."""
    seen: dict[tuple[str, str], bool] = {}

    def shows(r: Any, marker: str) -> bool:
        return r.status_code == 200 and marker in r.text

    def gives(r: Any, media: str) -> bool:
        return r.status_code == 200 and r.headers["content-type"].startswith(media) \
            and len(r.content) > 100

    listing = http.get("/doctor/patients", follow_redirects=False)
    search = http.get("/doctor/patients", params={"q": "a"}, follow_redirects=False)
    diary = http.get("/doctor/diary", params={"date": DAY}, follow_redirects=False)
    api_list = http.get("/portal/api/patients")
    mine = http.get("/patient/me", follow_redirects=False)
    for name, pid in clinic.patients.items():
        link = f'href="/doctor/patients/{pid}"'
        seen[("list", name)] = shows(listing, link)
        seen[("search", name)] = shows(search, link)
        seen[("diary", name)] = shows(diary, link)
        seen[("api list", name)] = shows(api_list, pid)
        seen[("page", name)] = shows(http.get(f"/doctor/patients/{pid}",
                                              follow_redirects=False), f"{name}-allergy")
        seen[("api page", name)] = shows(http.get(f"/portal/api/patients/{pid}"),
                                         f"{name}-filling")
        seen[("own page", name)] = shows(mine, f"{name}-allergy")
        if images:
            iid = images[name]
            base = f"/doctor/patients/{pid}/images/{iid}"
            get = lambda url: http.get(url, follow_redirects=False)  # noqa: E731
            seen[("images on page", name)] = shows(get(f"/doctor/patients/{pid}"), iid)
            seen[("image page", name)] = shows(get(base), f"{base}/full")
            seen[("thumbnail", name)] = gives(get(f"{base}/thumb"), "image/jpeg")
            seen[("full image", name)] = gives(get(f"{base}/full"), "image/jpeg")
            seen[("original", name)] = gives(get(f"{base}/original"), "application/octet")
    return seen


def test_access_matrix(pc: PC, client: TestClient, stranger: PC,
                       browser: Callable[[str], TestClient]) -> None:
    clinic = seed(pc)
    other = seed(stranger)
    images = {name: file_image(clinic, name, picture(color), filename=f"{name}.png")
              for name, color in (("Ann", "red"), ("Ben", "green"), ("Cat", "blue"))}
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    clinic.account("manager", whole=True)
    clinic.account("colleague", patients=("Ann", "Ben"))
    clinic.account("nobody")
    clinic.account("visitor", patients=("Cat",), expires_at=soon)
    clinic.account("gone", whole=True, expires_at=past)
    clinic.account("revoked", patients=("Ann",))
    clinic.share("revoked")  # taken back
    other.account("colleague", whole=True)  # the same name in another practice

    doctors: dict[str, tuple[str, str, set[str]]] = {
        "admin": ("admin", ADMIN_PW, ALL),
        "manager": ("manager", DOCTOR_PW, ALL),
        "colleague": ("colleague", DOCTOR_PW, {"Ann", "Ben"}),
        "no share": ("nobody", DOCTOR_PW, set()),
        "temporary": ("visitor", DOCTOR_PW, {"Cat"}),
        "expired": ("gone", DOCTOR_PW, set()),
        "revoked": ("revoked", DOCTOR_PW, set()),
    }
    unauthorized: list[tuple[str, str, str]] = []
    authorized = 0
    for i, (who, (user, password, allowed)) in enumerate(doctors.items()):
        http = browser(f"10.1.0.{i}")
        r = doctor_login(http, clinic.iid, user, password)
        assert r.status_code == (401 if who == "expired" else 303), (who, r.text)
        for (path, name), read in _reads(http, clinic, images).items():
            expected = name in allowed and path != "own page"
            if read and not expected:
                unauthorized.append((who, path, name))
            authorized += read and expected
            if expected:
                assert read, f"{who} could not read {name} on {path}"

    patients = {"Ann (own password)": ("Ann", "ann-own-pw"),
                "Ben (general password)": ("Ben", GENERAL_PW)}
    for i, (who, (name, password)) in enumerate(patients.items()):
        http = browser(f"10.2.0.{i}")
        r = patient_login(http, clinic.iid, clinic.cards[name], password)
        assert r.status_code == 303, r.text
        for (path, seen_name), read in _reads(http, clinic, images).items():
            expected = seen_name == name and path in ("own page", "api list", "api page")
            if read and not expected:
                unauthorized.append((who, path, seen_name))
            if expected:
                assert read, f"{who} could not read {seen_name} on {path}"

    # Another practice's admin and colleague see nothing of this one.
    for i, user in enumerate(("admin", "colleague")):
        http = browser(f"10.3.0.{i}")
        pw = ADMIN_PW if user == "admin" else DOCTOR_PW
        assert doctor_login(http, other.iid, user, pw).status_code == 303
        for (path, name), read in _reads(http, clinic, images).items():
            if read:
                unauthorized.append((f"other {user}", path, name))
    assert unauthorized == []
    assert authorized > 0


def test_device_api_sees_only_its_installation(clinic: Clinic, stranger: PC) -> None:
    other = seed(stranger)
    acc = clinic.account("colleague")
    r = stranger.http.put(f"/api/v1/server/accounts/{acc}/shares", headers=stranger.headers,
                          json={"whole_database": True})
    assert r.status_code == 404
    r = clinic.pc.http.put(f"/api/v1/server/accounts/{acc}/shares", headers=clinic.pc.headers,
                           json={"patient_ids": [other.patients["Ann"]]})
    assert r.status_code == 404  # a patient of another practice can not be shared
    r = stranger.http.put(f"/api/v1/server/patients/{clinic.patients['Ann']}/password",
                          headers=stranger.headers, json={"password": "some-password"})
    assert r.status_code == 404
    names = [a["name"] for a in clinic.api("GET", "/accounts")]
    assert names == ["colleague"]


def test_notes_only_from_doctors_and_only_on_patients_they_see(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    from tests.unit.cloud.portal.support import csrf_of

    clinic.account("colleague", patients=("Ann",))
    doctor = browser("10.4.0.1")
    assert doctor_login(doctor, clinic.iid, "colleague", DOCTOR_PW).status_code == 303
    token = csrf_of(doctor.get(f"/doctor/patients/{clinic.patients['Ann']}").text)
    for name in ("Ben", "Cat"):
        r = doctor.post(f"/doctor/patients/{clinic.patients[name]}/notes",
                        data={"body": "x", "csrf": token}, follow_redirects=False)
        assert r.status_code == 404
    patient = browser("10.4.0.2")
    assert patient_login(patient, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code \
        == 303
    token = csrf_of(patient.get("/patient/me").text)
    r = patient.post(f"/doctor/patients/{clinic.patients['Ann']}/notes",
                     data={"body": "x", "csrf": token}, follow_redirects=False)
    assert (r.status_code, r.headers.get("location")) == (303, "/doctor/")
    assert not [c for c in clinic.pc.pull_all() if c["entity"] == "note"]


def test_sync_read_paths_give_another_installation_nothing(clinic: Clinic, stranger: PC) -> None:
    """Every read of the device sync API goes through the policy: another practice's PC
    reads none of this practice's rows, changes, digests or conflicts."""
    seed(stranger)
    theirs = set(clinic.patients.values())
    h = stranger.headers
    changes = stranger.pull_all()
    assert theirs.isdisjoint(c["entity_id"] for c in changes)
    for pid in theirs:
        assert stranger.http.get(f"/api/v1/records/{pid}", headers=h).status_code == 404
    for entity in ("patient", "visit", "agreement"):
        r = stranger.http.get(f"/api/v1/reconcile/{entity}", headers=h,
                              params={"items": "true"}).json()
        assert theirs.isdisjoint(i for i, _ in r["items"])
    summary = stranger.http.get("/api/v1/reconcile", headers=h).json()
    own = clinic.pc.http.get("/api/v1/reconcile", headers=clinic.pc.headers).json()
    assert summary["patient"]["digest"] != own["patient"]["digest"]
    conflicts = stranger.http.get("/api/v1/conflicts", headers=h,
                                  params={"include_resolved": "true"}).json()["conflicts"]
    assert theirs.isdisjoint(c["entity_id"] for c in conflicts)
    # A portal session is not a device: the sync API wants a device token.
    assert stranger.http.get("/api/v1/changes").status_code == 401
