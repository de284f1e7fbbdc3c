from __future__ import annotations

import itertools

import pytest

from app.core.ids import new_id
from app.core.merge import FieldState, merge_fields
from app.core.wire import Mutation, SchemaError

NODE = "0123456789abcdef"
H1 = "1700000000000-0000-aaaaaaaaaaaaaaaa"
H2 = "1700000000001-0000-bbbbbbbbbbbbbbbb"
H3 = "1700000000002-0000-cccccccccccccccc"


def wire(**over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": new_id(),
        "entity": "patient",
        "entity_id": new_id(),
        "node": NODE,
        "fields": {"first_name": "Ana"},
        "hlc": {"first_name": H1},
        "base": {"first_name": None},
    }
    data.update(over)
    return data


def test_round_trip() -> None:
    m = Mutation.from_wire(wire())
    assert Mutation.from_wire(m.to_wire()) == m


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"entity": "dragon"}, "unknown entity"),
        ({"fields": {"shoe_size": 4}, "hlc": {"shoe_size": H1}, "base": {}}, "unknown field"),
        ({"fields": {"first_name": 5}, "hlc": {"first_name": H1}}, "must be text"),
        ({"fields": {"provisional": 0}, "hlc": {"provisional": H1}, "base": {}}, "true or false"),
        (
            {"fields": {"birth_date": "2020-02-30"}, "hlc": {"birth_date": H1}, "base": {}},
            "not a real date",
        ),
        ({"fields": {"first_name": None}, "hlc": {"first_name": H1}}, "may not be empty"),
        ({"fields": {"first_name": "a\x00b"}, "hlc": {"first_name": H1}}, "NUL"),
        ({"hlc": {}}, "stamp exactly"),
        ({"node": "xyz"}, "16 hex"),
        ({"id": "1"}, "UUID"),
        ({"extra": 1}, "unknown keys"),
    ],
)
def test_bad_mutations_are_refused_with_a_reason(change: dict[str, object], reason: str) -> None:
    with pytest.raises(SchemaError, match=reason):
        Mutation.from_wire(wire(**change))


def test_integers_are_not_booleans() -> None:
    data = wire(entity="visit", fields={"next_visit_minutes": True},
                hlc={"next_visit_minutes": H1}, base={})
    with pytest.raises(SchemaError, match="whole number"):
        Mutation.from_wire(data)


def test_money_travels_as_decimal_text() -> None:
    def sent(value: object) -> object:
        data = wire(entity="visit", fields={"amount_paid": value},
                    hlc={"amount_paid": H1}, base={})
        return Mutation.from_wire(data).fields["amount_paid"]

    assert sent("1250.50") == "1250.50"
    assert sent(125050) == "1250.50"  # minor units, as sent before decimal text
    for bad in (True, 12.5, "12.5", "1e3", "12.345", "abc"):
        with pytest.raises(SchemaError, match="amount"):
            sent(bad)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"hlc": {"first_name": None}}, "hlc of first_name must be text"),
        ({"hlc": {"first_name": ["x"]}}, "hlc of first_name must be text"),
        ({"hlc": {"first_name": "1700000000000-0000-AAAAAAAAAAAAAAAA"}}, "not an HLC"),
        ({"base": {"first_name": 5}}, "base of first_name must be text or null"),
        ({"base": {"first_name": ""}}, "not an HLC"),
        ({"base": {"first_name": [H1]}}, "base of first_name must be text or null"),
        ({"fields": {"gender": ["female"]}, "hlc": {"gender": H1}, "base": {}}, "one of"),
        ({"fields": {"gender": None}, "hlc": {"gender": H1}, "base": {}}, "may not be empty"),
        ({"fields": {"last_name": "x" * 501}, "hlc": {"last_name": H1}, "base": {}}, "longer"),
        ({"fields": {"last_name": "a\x1bb"}, "hlc": {"last_name": H1}, "base": {}}, "control"),
        ({"fields": {"last_name": "a\ud800"}, "hlc": {"last_name": H1}, "base": {}}, "broken"),
        ({"fields": {"merged_into": "0" * 36}, "hlc": {"merged_into": H1}, "base": {}}, "UUID"),
        ({"fields": {"responsible_user_id": 7}, "hlc": {"responsible_user_id": H1},
          "base": {}}, "UUID"),
        ({"entity_id": "0" * 36}, "entity_id must be a UUID"),
        ({"node": "0123456789ABCDEF"}, "16 hex"),
        # The first problem in field order is the one named, stamps and values alike.
        ({"fields": {"first_name": "Ana", "last_name": 5},
          "hlc": {"first_name": "bad", "last_name": H1}, "base": {}}, "hlc of first_name"),
    ],
)
def test_every_problem_is_found_and_named_as_the_full_check_names_it(
    change: dict[str, object], reason: str
) -> None:
    """A first upload checks its mutations through a quicker path; whatever that path
    lets through, the full check would too, and a refusal gives the same reason."""
    with pytest.raises(SchemaError, match=reason):
        Mutation.from_wire(wire(**change))


def test_valid_forms_the_quick_check_does_not_know_are_still_accepted() -> None:
    upper = new_id().upper()
    m = Mutation.from_wire(wire(id=upper, fields={"first_name": "Ana", "merged_into": None},
                                hlc={"first_name": H1, "merged_into": H2}, base={}))
    assert m.id == upper and m.fields == {"first_name": "Ana", "merged_into": None}
    stamp_end = wire(hlc={"first_name": H1 + "\n"})  # accepted by the full check as well
    assert Mutation.from_wire(stamp_end).hlc == {"first_name": H1 + "\n"}


def apply_all(order: list[tuple[str, FieldState]]) -> tuple[dict[str, FieldState], set[str]]:
    state: dict[str, FieldState] = {}
    conflicts: set[str] = set()
    for name, fs in order:
        result = merge_fields(state, {name: fs})
        state.update(result.applied)
        conflicts |= {c.key("patient", "x") for c in result.conflicts}
    return state, conflicts


def test_concurrent_edits_converge_and_keep_the_loser_in_any_causal_order() -> None:
    a = ("note", FieldState("from A", H2, H1))
    b = ("note", FieldState("from B", H3, H1))  # B did not see A's edit
    origin = ("note", FieldState("first", H1, None))
    # Delivery is causal: the origin comes before the edits made on top of it.
    results = [apply_all([origin, *p]) for p in itertools.permutations([a, b])]
    assert all(r[0]["note"].value == "from B" for r in results)
    conflict_sets = {frozenset(r[1]) for r in results}
    assert len(conflict_sets) == 1 and len(next(iter(conflict_sets))) == 1


def test_a_successor_is_not_a_conflict() -> None:
    first = ("note", FieldState("first", H1, None))
    second = ("note", FieldState("second", H2, H1))  # made after seeing the first
    state, conflicts = apply_all([first, second])
    assert state["note"].value == "second" and not conflicts


def test_a_later_stamp_is_not_proof_of_having_seen_a_write() -> None:
    """B's last edit has a higher base than A's stamp, yet B never saw A's edit."""
    origin = ("note", FieldState("first", H1, None))
    b1 = ("note", FieldState("B one", H3, H1))
    a = ("note", FieldState("from A", "1700000000003-0000-aaaaaaaaaaaaaaaa", H1))
    b2 = ("note", FieldState("B two", "1700000000009-0000-bbbbbbbbbbbbbbbb", H3))
    state, conflicts = apply_all([origin, b1, b2, a])
    assert state["note"].value == "B two" and len(conflicts) == 1


def test_replay_changes_nothing() -> None:
    fs = FieldState("x", H1, None)
    result = merge_fields({"note": fs}, {"note": fs})
    assert not result.applied and not result.conflicts


def test_the_quick_value_checks_answer_as_the_full_ones() -> None:
    from app.core.wire import ENTITIES, check_value, field_checks

    samples: list[object] = [
        None, "", "Ana", "a" * 500, "a" * 501, "x" * 20_001, "tab\tand\nline", "nul\x00",
        "bell\x07", "broken \ud800", "C1 \x85", True, False, 0, 1, -3, 2**53, 2**53 + 1, 1.5,
        "12.50", "12.5", "2026-02-30", "2026-01-31", "2026-01-31T10:00:00+00:00",
        "2026-01-31T10:00:00+02:00", new_id(), new_id().upper(), "{" + new_id() + "}",
        "0" * 36, ["a"], {"a": 1}, "female", "male", "scheduled", "done",
        -(2**53), -(2**53) - 1, 2.0, "2026-01-31\n", "\u0661\u0662\u0663\u0664-01-31", "2026-13-01",
    ]
    for entity in ENTITIES.values():
        for name, spec in entity.fields.items():
            check = field_checks(entity.name)[name]
            for value in [*samples, *spec.choices]:
                assert check(value) == check_value(spec, value), (entity.name, spec, value)
