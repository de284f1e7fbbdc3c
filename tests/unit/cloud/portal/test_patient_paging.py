"""A practice of 344 patients: the list and a search say the true count, page through
every patient in the desktop's order (last name, then first name), none twice."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from app.core.ids import new_id
from app.core.text import sort_key
from tests.unit.cloud.portal.support import DOCTOR_PW, Clinic, doctor_login
from tests.unit.cloud.support import PC

LAST = ["Zahn", "Adams", "Öztürk", "brown", "Émile", "Cole", "yates", "Baker"]


def _big_practice(clinic: Clinic, count: int) -> dict[str, tuple[str, str]]:
    """`count` more patients: id -> (first, last)."""
    people: dict[str, tuple[str, str]] = {}
    muts = []
    for i in range(count):
        pid = new_id()
        people[pid] = (f"P{i:03d}", LAST[i % len(LAST)])
        muts.append(clinic.pc.mutation("patient", pid, {
            "first_name": people[pid][0], "last_name": people[pid][1],
            "mobile": f"05{i:08d}", "card_number": f"K-{i}"}))
    for start in range(0, len(muts), 200):
        clinic.pc.push(*muts[start:start + 200])
    return people


def _walk(http: TestClient, first: str) -> tuple[list[str], list[str]]:
    """Follow "Next page" from `first`: every patient id shown, and each page's count."""
    ids: list[str] = []
    counts: list[str] = []
    url: str | None = first
    while url:
        page = http.get(url)
        assert page.status_code == 200
        ids += re.findall(r'data-id="([^"]+)"', page.text)
        counts.append(re.search(r'id="count"[^>]*>([^<]+)<', page.text)[1])  # type: ignore[index]
        nxt = re.search(r'href="([^"]+)" id="next-page"', page.text)
        url = nxt[1].replace("&amp;", "&") if nxt else None
        assert len(counts) < 50, "the pages never end"
    return ids, counts


def test_every_one_of_344_patients_is_reachable_and_the_count_is_true(
        pc: PC, clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    people = _big_practice(clinic, 341)  # + Ann, Ben, Cat
    clinic.account("manager", whole=True)
    http = browser("10.9.0.1")
    assert doctor_login(http, clinic.iid, "manager", DOCTOR_PW).status_code == 303

    ids, counts = _walk(http, "/doctor/patients")
    assert len(ids) == 344 and len(set(ids)) == 344
    assert set(ids) == set(people) | set(clinic.patients.values())
    assert counts[0] == "344 patients · page 1 of 7"
    assert counts[-1] == "344 patients · page 7 of 7"
    names = {**people, **{pid: (first, {"Ann": "Lee", "Ben": "Ray", "Cat": "Moe"}[first])
                          for first, pid in clinic.patients.items()}}
    keys = [sort_key(*names[i]) for i in ids]
    assert keys == sorted(keys)  # Öztürk among the O's, Émile among the E's, as on the desktop
    assert names[ids[0]][1] == "Adams"

    # a search matching 43 patients also pages with its true count
    found, counts = _walk(http, "/doctor/patients?q=emile")
    assert len(found) == len(set(found)) == 43
    assert all(names[i][1] == "Émile" for i in found)
    assert counts == ["43 patients"]
    found, counts = _walk(http, "/doctor/patients?q=P1")  # P100 to P199
    assert counts[0] == "100 patients · page 1 of 2" and len(set(found)) == 100

    api = http.get("/portal/api/patients", params={"page": 7})
    assert api.headers["X-Total-Count"] == "344" and api.headers["X-Page"] == "7/7"
    assert [r["id"] for r in api.json()] == ids[300:]
