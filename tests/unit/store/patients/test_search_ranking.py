"""Search results in the order the front desk expects, and "Did you mean …?"."""

from __future__ import annotations

import pytest

from app.store.dto import PatientFilter


def _add(store, viewer, first, last, **more):
    return store.patients.create(viewer, {"first_name": first, "last_name": last, **more})


def _found(store, viewer, query, **filters) -> list[str]:
    rows = store.patients.search(viewer, PatientFilter(query=query, **filters))
    return [f"{r.first_name} {r.last_name}" for r in rows]


@pytest.fixture
def front_desk(store, admin):
    v = admin.viewer()
    doc = store.users.create("doc", "Dr Member", "member-pass", "member")
    for first, last, more in [
        ("Limara", "Silva", {}),
        ("Ana", "Abreu", {"email": "lima@example.com"}),
        ("Carla", "Limón", {"gender": "female"}),
        ("Bruno", "Lima Costa", {"gender": "male"}),
        ("Aaron", "Abbot", {"mobile": "+1 346 001 234 56", "card_number": "123456"}),
        ("Zed", "Zulu", {"mobile": "+34 600 123 456", "card_number": "12345"}),
        ("Eleni", "Παπαδόπουλος", {"responsible_user_id": doc.id}),
        ("Nikos", "Papadopoulos", {}),
        ("Ivan", "Иванов", {}),
    ]:
        _add(store, v, first, last, **more)
    return doc


def test_surname_prefix_first_then_the_rest_in_display_order(store, admin, front_desk) -> None:
    v = admin.viewer()
    # Limón and Lima Costa by their surname; Abreu (email) and Silva (first name) after.
    expected = ["Bruno Lima Costa", "Carla Limón", "Ana Abreu", "Limara Silva"]
    assert _found(store, v, "lim") == expected
    assert _found(store, v, "LIM") == expected
    assert _found(store, v, "limó") == ["Carla Limón"]  # accents and case ignored
    assert _found(store, v, "ΠΑΠΑΔΌ") == ["Eleni Παπαδόπουλος"]
    assert _found(store, v, "ива") == ["Ivan Иванов"]
    assert store.patients.count(v, PatientFilter(query="lim")) == 4


def test_an_exact_card_number_or_phone_comes_first(store, admin, front_desk) -> None:
    v = admin.viewer()
    # Abbot comes first in display order, and his card and phone start the same way.
    assert _found(store, v, "12345") == ["Zed Zulu", "Aaron Abbot"]
    assert _found(store, v, "123456") == ["Aaron Abbot", "Zed Zulu"]  # his phone ends so
    assert _found(store, v, "34600123456") == ["Zed Zulu", "Aaron Abbot"]
    assert _found(store, v, "+34 600 123 456") == ["Zed Zulu", "Aaron Abbot"]
    assert _found(store, v, "3460012") == ["Aaron Abbot", "Zed Zulu"]  # no exact: in order
    assert store.patients.count(v, PatientFilter(query="12345")) == 2


def test_filters_keep_the_ranking(store, admin, front_desk) -> None:
    v = admin.viewer()
    assert _found(store, v, "lim", gender="female") == ["Carla Limón"]
    assert _found(store, v, "12345", gender="unknown") == ["Zed Zulu", "Aaron Abbot"]
    assert _found(store, v, "lim", gender="unknown") == ["Ana Abreu", "Limara Silva"]


def test_pages_follow_one_another_across_the_groups(store, admin, front_desk) -> None:
    v = admin.viewer()
    f = PatientFilter(query="lim")
    whole = store.patients.search(v, f, limit=100)
    pages = [store.patients.search(v, f, limit=1, offset=i) for i in range(len(whole) + 1)]
    assert [r.id for page in pages for r in page] == [r.id for r in whole]


def test_a_member_finds_only_his_patients_first(store, admin, front_desk) -> None:
    mine = front_desk.viewer()
    assert _found(store, mine, "παπαδ") == ["Eleni Παπαδόπουλος"]
    assert _found(store, mine, "papad") == []
    assert _found(store, mine, "12345") == []


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("papadopulos", "Papadopoulos"),  # a letter left out
        ("papadopoulous", "Papadopoulos"),  # one too many
        ("papadopoylos", "Papadopoulos"),  # a wrong one
        ("papadopoulso", "Papadopoulos"),  # two swapped
        ("PAPADOPU", "Papadopoulos"),  # still typing, the slip in what is typed so far
        ("иванв", "Иванов"),
        ("limno", "Limón"),
    ],
)
def test_did_you_mean_offers_a_surname_one_slip_away(
    store, admin, front_desk, typed: str, meant: str
) -> None:
    v = admin.viewer()
    assert _found(store, v, typed) == []
    assert meant in store.patients.suggest_surnames(v, typed)


def test_did_you_mean_offers_nothing_far_off_or_unseen(store, admin, front_desk) -> None:
    v = admin.viewer()
    assert store.patients.suggest_surnames(v, "xyzzyx") == []
    assert store.patients.suggest_surnames(v, "12346") == []  # digits: no surname
    assert store.patients.suggest_surnames(v, "pa") == []  # too short to tell
    # The member sees only his own patient's surname, in its own script.
    mine = front_desk.viewer()
    assert store.patients.suggest_surnames(mine, "papadopulos") == []
    assert store.patients.suggest_surnames(mine, "παπαδοπουλς") == ["Παπαδόπουλος"]
