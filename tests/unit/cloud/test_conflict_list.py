"""The cloud's conflict list, as the PCs copy it: in version order, new conflicts and
settled ones alike; decisions sent by a PC; a write made on top of the winner."""

from __future__ import annotations

from typing import Any

from app.core.ids import new_id
from tests.unit.cloud.support import PC


def changes_after(pc: PC, version: int) -> dict[str, Any]:
    r = pc.http.get("/api/v1/conflicts", headers=pc.headers,
                    params={"after": version, "include_resolved": True})
    assert r.status_code == 200, r.text
    return r.json()


def clash(pc: PC, pc2: PC, field: str) -> tuple[str, dict[str, Any]]:
    """pc2's later write of `field` arrives first; pc's earlier one loses on arrival."""
    pid = new_id()
    pc.push(pc.mutation("patient", pid, {"first_name": "Ann", "gender": "female"}))
    pc2.wall = pc.wall + 100
    theirs = pc2.mutation("patient", pid, {field: "B"}, base={field: None})
    pc2.push(theirs)
    pc.push(pc.mutation("patient", pid, {field: "A"}, base={field: None}))
    return pid, theirs


def test_a_pc_copies_new_and_settled_conflicts_in_one_order(pc: PC, pc2: PC) -> None:
    clash(pc, pc2, "mobile")
    clash(pc, pc2, "email")
    first = changes_after(pc, 0)
    assert [c["field"] for c in first["conflicts"]] == ["mobile", "email"]
    assert [c["resolution"] for c in first["conflicts"]] == [None, None]
    cursor = first["cursor"]
    assert changes_after(pc, cursor)["conflicts"] == []

    keys = [c["key"] for c in first["conflicts"]]
    decisions = [{"key": keys[1], "resolution": "dismissed"},
                 {"key": keys[0], "resolution": "other"}]
    r = pc2.http.post("/api/v1/conflicts/decisions", headers=pc2.headers,
                      json={"decisions": decisions})
    assert r.json() == {"settled": 2}
    # A second decision on a settled conflict changes nothing: the first counts.
    r = pc.http.post("/api/v1/conflicts/decisions", headers=pc.headers,
                     json={"decisions": [{"key": keys[0], "resolution": "kept"}]})
    assert r.json() == {"settled": 0}
    later = changes_after(pc, cursor)
    assert {c["key"]: c["resolution"] for c in later["conflicts"]} == {
        keys[0]: "other", keys[1]: "dismissed"}
    assert all(c["resolved_at"] for c in later["conflicts"])
    assert pc.http.get("/api/v1/conflicts", headers=pc.headers).json()["conflicts"] == []


def test_a_write_made_on_top_of_the_winner_settles_the_conflict(pc: PC, pc2: PC) -> None:
    pid, theirs = clash(pc, pc2, "note")
    cursor = changes_after(pc, 0)["cursor"]
    # Someone who saw the winning note writes another one on top of it.
    pc.wall = pc2.wall + 100
    pc.push(pc.mutation("patient", pid, {"note": "C"}, base={"note": theirs["hlc"]["note"]}))
    (settled,) = changes_after(pc, cursor)["conflicts"]
    assert settled["field"] == "note" and settled["resolution"] == "elsewhere"


def test_decisions_are_checked(pc: PC, pc2: PC, stranger: PC) -> None:
    clash(pc, pc2, "mobile")
    (c,) = changes_after(pc, 0)["conflicts"]
    # Another practice's PC can not settle this practice's conflicts.
    r = stranger.http.post("/api/v1/conflicts/decisions", headers=stranger.headers,
                           json={"decisions": [{"key": c["key"], "resolution": "kept"}]})
    assert r.json() == {"settled": 0}
    assert changes_after(pc, 0)["conflicts"][0]["resolved_at"] is None
    for bad in ([{"key": "x", "resolution": "maybe"}], [{"key": "x"}],
                [{"key": "x", "resolution": "kept"}] * 501):
        r = pc.http.post("/api/v1/conflicts/decisions", headers=pc.headers,
                         json={"decisions": bad})
        assert r.status_code == 422, bad
    r = pc.http.post("/api/v1/conflicts/decisions", json={"decisions": []})
    assert r.status_code == 401


def test_the_last_page_of_changes_carries_the_conflict_list(pc: PC, pc2: PC) -> None:
    clash(pc, pc2, "mobile")
    listed = changes_after(pc, 0)

    def page(after: int, limit: int) -> dict[str, Any]:
        r = pc.http.get("/api/v1/changes", headers=pc.headers,
                        params={"after": after, "limit": limit, "conflicts_after": 0})
        assert r.status_code == 200, r.text
        return r.json()

    first = page(0, 1)
    assert first["more"] and "conflict_list" not in first
    last = page(first["cursor"], 100)
    assert not last["more"]
    assert last["conflict_list"] == listed
    # Not asked for, not sent: what a PC from before it gets.
    assert "conflict_list" not in pc.pull(first["cursor"])
