"""The search's two ways to read a long query's other matches (by prefix bucket in
display order, by term when few; see patient_search.FEW) and the general query, which
ranks by sorting, give the same pages and counts.

The practice is made so that queries fall on both sides of FEW: many patients share a
surname, a first name or the start of a phone number, a few share rarer ones."""

from __future__ import annotations

import random

import pytest

from app.store.dto import PatientFilter
from app.store.patients import patient_search

_LAST = ["García", "Garcés", "Gardner", "Lima", "Limón", "Lim", "Παπαδόπουλος", "Иванов",
         "Ivanova", "Nguyễn", "Ng", "O'Brien"]
_FIRST = ["Ana", "Anabel", "Anaïs", "Gary", "Lia", "Ivan", "Zoë", "Garcia"]


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    from tests.conftest import open_replica

    store = open_replica(tmp_path_factory.mktemp("plans") / "practice.chairside")
    admin = store.users.create("admin", "Dr Admin", "correct horse", "admin")
    member = store.users.create("doc", "Dr Member", "member-pass", "member")
    rnd = random.Random(2026)
    for i in range(420):
        common = i % 3 != 0
        store.patients.create(admin.viewer(), {
            "first_name": rnd.choice(_FIRST),
            "last_name": rnd.choice(_LAST[:4] if common else _LAST),
            "mobile": ("+3460" if common else "+44") + "".join(rnd.choice("0123456789")
                                                            for _ in range(7)),
            "card_number": f"C{i:04d}",
            "email": f"{rnd.choice(_FIRST).lower()}{i}@example.com",
            "responsible_user_id": member.id if i % 4 == 0 else None,
        })
    yield store, admin, member
    store.db.close()


def _queries(store, viewer) -> list[str]:
    rows = store.patients.search(viewer, PatientFilter(), limit=1000)
    rnd = random.Random(7)
    out = {"gar", "garc", "garcía", "lim", "limo", "ana", "anai", "3460", "34601",
           "4412", "0044", "c00", "c0012", "ivan", "παπ", "ng", "nguy", "o'b", "zoe"}
    for r in rnd.sample(rows, 12):
        out.add((r.mobile or "")[-5:])
        out.add(r.last_name[:4].lower())
    return sorted(q for q in out if q)


def _pages(store, viewer, query: str) -> list[list[int]]:
    f = PatientFilter(query=query)
    return [[r.num for r in store.patients.search(viewer, f, limit=9, offset=o)]
            for o in range(0, 90, 9)]


def _general(store, viewer, query: str) -> list[int]:
    q, is_digits = patient_search._normalised(query)
    with store.db.read() as s:
        stmt = patient_search._general(viewer, PatientFilter(query=query), q, is_digits)
        return [r.num for r in s.execute(stmt.limit(90))]


@pytest.mark.parametrize("who", ["admin", "member"])
def test_both_ways_and_the_general_query_agree(practice, monkeypatch, who) -> None:
    store, admin, member = practice
    viewer = (admin if who == "admin" else member).viewer()
    queries = _queries(store, admin.viewer())
    pages: dict[int, dict[str, list[list[int]]]] = {}
    counts: dict[int, dict[str, int]] = {}
    # Always by term (from 3 characters), always by bucket, and as chosen.
    for few in (10**9, 0, patient_search.FEW):
        monkeypatch.setattr(patient_search, "FEW", few)
        pages[few] = {q: _pages(store, viewer, q) for q in queries}
        counts[few] = {q: store.patients.count(viewer, PatientFilter(query=q)) for q in queries}
    assert pages[0] == pages[10**9] == pages[patient_search.FEW]
    assert counts[0] == counts[10**9] == counts[patient_search.FEW]
    # In another order, the same patients: counted the same (by the general query too).
    for q in queries:
        by_birth = PatientFilter(query=q, sort="birth_date")
        assert store.patients.count(viewer, by_birth) == counts[0][q], q
        assert len(store.patients.search(viewer, by_birth, limit=1000)) == counts[0][q], q
    few = many = 0
    for q in queries:
        flat = [n for page in pages[0][q] for n in page]
        assert flat == _general(store, viewer, q), q
        n = counts[0][q]
        assert len(flat) == min(90, n), q
        assert len(set(flat)) == len(flat), q  # a patient once, whatever terms he matches
        few += 0 < n < 9
        many += n > 9
    # The queries did reach both kinds of answer, and pages past the first.
    assert few >= 3 and many >= 3
