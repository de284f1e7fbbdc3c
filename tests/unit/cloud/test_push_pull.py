"""Push (exactly once, per-field LWW, conflicts, clamping, aliases) and pull."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient

from app.core.hlc import MAX_DRIFT_MS
from app.core.ids import new_id
from app.core.reconcile import range_digest
from app.core.wire import MAX_BATCH_BYTES, MAX_BATCH_MUTATIONS
from tests.unit.cloud.support import PC, patient, stamp


def _nothing_stored(pc: PC) -> None:
    assert pc.pull()["changes"] == []
    r = pc.http.get("/api/v1/reconcile", headers=pc.headers).json()
    assert all(v["count"] == 0 for v in r.values())


def test_push_applies_once_and_replays_the_stored_result(pc: PC) -> None:
    m = patient(pc, first_name="Ann")
    first = pc.push(m)["results"][0]
    assert first["seq"] == 1 and first["applied"] == ["first_name", "gender"]
    again = pc.push(m)["results"][0]
    assert again.pop("replayed") is True
    assert again == first
    assert len(pc.pull()["changes"]) == 1


def test_a_full_batch_replayed_whole_changes_nothing(pc: PC, stranger: PC) -> None:
    """A first upload's batch (patients, and visits of patients sent in an earlier
    batch) looks up thousands of ids at once; sent again, each mutation gets the answer
    it got the first time and nothing is stored twice."""
    half = MAX_BATCH_MUTATIONS // 2
    patients = [patient(pc, first_name=f"P{i}") for i in range(half)]
    pc.push(*patients)
    visits = [pc.mutation("visit", new_id(), {"patient_id": p["entity_id"],
                                              "visit_date": "2024-03-01"})
              for p in patients]
    batch = [patient(pc, first_name=f"Q{i}") for i in range(half)] + visits
    first = pc.push(*batch)
    assert [r["seq"] for r in first["results"]] == list(range(half + 1, 3 * half + 1))
    again = pc.push(*batch)
    assert all(r.pop("replayed") is True for r in again["results"])
    assert again == first
    assert len(pc.pull_all()) == 3 * half
    # The same ids from another practice are refused, not taken as its own.
    r = stranger.http.post("/api/v1/push", json={"mutations": batch[-3:]},
                           headers=stranger.headers)
    assert r.status_code == 409 and "already used" in r.json()["detail"]


def test_last_writer_wins_per_field(pc: PC, pc2: PC) -> None:
    pid = new_id()
    pc.push(pc.mutation("patient", pid, {"first_name": "Ann", "gender": "female"}))
    base = stamp(pc.wall, pc.node)
    pc.wall += 10
    pc2.wall = pc.wall + 5
    older = pc.mutation("patient", pid, {"mobile": "111"}, base={"mobile": None})
    newer = pc2.mutation("patient", pid, {"first_name": "Anna"}, base={"first_name": base})
    pc.push(older)
    pc2.push(newer)
    r = pc.http.get(f"/api/v1/records/{pid}", headers=pc.headers).json()
    assert r["fields"]["first_name"]["value"] == "Anna"
    assert r["fields"]["mobile"]["value"] == "111"
    assert r["fields"]["gender"]["value"] == "female"
    conflicts = pc.http.get("/api/v1/conflicts", headers=pc.headers).json()["conflicts"]
    assert conflicts == []  # pc2 had seen pc's write: not concurrent


def test_concurrent_loser_is_kept_as_a_conflict(pc: PC, pc2: PC) -> None:
    pid = new_id()
    first = pc.mutation("patient", pid, {"first_name": "Ann", "gender": "female"})
    pc.push(first)
    seen = first["hlc"]["first_name"]
    pc.wall, pc2.wall = 1_750_000_000_000, 1_750_000_000_100
    mine = pc.mutation("patient", pid, {"mobile": "0501"}, base={"mobile": None})
    theirs = pc2.mutation("patient", pid, {"mobile": "0777"}, base={"mobile": None})
    # pc2's later write arrives first; pc's earlier, concurrent one loses on arrival.
    pc2.push(theirs)
    res = pc.push(mine)["results"][0]
    assert res["ignored"] == ["mobile"] and len(res["conflicts"]) == 1
    assert res["seq"] is None
    body = pc.http.get("/api/v1/conflicts", headers=pc.headers).json()
    (c,) = body["conflicts"]
    assert c["field"] == "mobile"
    assert c["winner"]["value"] == "0777" and c["winner"]["device_id"] == pc2.device_id
    assert c["loser"]["value"] == "0501" and c["loser"]["device_id"] == pc.device_id
    assert c["loser"]["hlc"] == mine["hlc"]["mobile"]
    # a change that saw the previous value is not a conflict
    later = pc.mutation("patient", pid, {"first_name": "Anne"}, base={"first_name": seen})
    assert pc.push(later)["results"][0]["conflicts"] == []
    r = pc.http.post(f"/api/v1/conflicts/{c['id']}/resolve", headers=pc.headers)
    assert r.status_code == 204
    assert pc.http.get("/api/v1/conflicts", headers=pc.headers).json()["conflicts"] == []
    kept = pc.http.get("/api/v1/conflicts", params={"include_resolved": True},
                       headers=pc.headers).json()["conflicts"]
    assert len(kept) == 1 and kept[0]["resolved_at"]


def test_future_stamps_are_clamped(pc: PC) -> None:
    now = time.time_ns() // 1_000_000
    far = stamp(now + 10 * MAX_DRIFT_MS, pc.node)
    m = pc.mutation("patient", new_id(), {"first_name": "Ann", "gender": "male"}, hlc=far)
    res = pc.push(m)["results"][0]
    assert res["clamped"] == ["first_name", "gender"]
    (change,) = pc.pull()["changes"]
    wall = int(change["fields"]["first_name"]["hlc"][:13])
    assert now < wall <= time.time_ns() // 1_000_000 + MAX_DRIFT_MS
    assert change["fields"]["first_name"]["hlc"].endswith(pc.node)
    # The answer carries the stamps stored, so the PC need not ask for the record.
    assert res["stamps"] == {n: f["hlc"] for n, f in change["fields"].items()}


def test_a_record_of_another_installation_is_refused(pc: PC, stranger: PC) -> None:
    pid = new_id()
    pc.push(patient(pc, pid))
    r = stranger.push(patient(stranger, pid, first_name="Eve"), expect=403)
    assert "not in this installation" in r["detail"]
    visit = stranger.mutation("visit", new_id(), {"patient_id": pid, "visit_date": "2024-01-02"})
    r = stranger.push(visit, expect=403)
    assert "visit.patient_id" in r["detail"]
    _nothing_stored(stranger)
    assert len(pc.pull()["changes"]) == 1


def test_bad_mutations_refuse_the_whole_batch(pc: PC) -> None:
    good = patient(pc)
    unknown_entity = {**patient(pc), "entity": "invoice"}
    r = pc.push(good, unknown_entity, expect=422)
    assert "mutation 1" in r["detail"] and "unknown entity" in r["detail"]
    unknown_field = pc.mutation("patient", new_id(), {"shoe_size": "42"})
    r = pc.push(good, unknown_field, expect=422)
    assert "unknown field patient.shoe_size" in r["detail"]
    wrong_type = pc.mutation("visit", new_id(), {"patient_id": new_id(), "visit_date": "2024-01-02",
                                                 "amount_paid": 100.5})
    assert "amount like 12.50" in pc.push(wrong_type, expect=422)["detail"]
    self_merge = patient(pc)
    self_merge["fields"]["merged_into"] = self_merge["entity_id"]
    self_merge["hlc"]["merged_into"] = self_merge["hlc"]["first_name"]
    pc.push(self_merge, expect=422)
    _nothing_stored(pc)


def test_malformed_json_is_refused(pc: PC) -> None:
    r = pc.http.post("/api/v1/push", content=b'{"mutations": [', headers={
        **pc.headers, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert "json" in r.text.lower()
    _nothing_stored(pc)


def test_batches_are_bounded(pc: PC) -> None:
    many = [patient(pc) for _ in range(MAX_BATCH_MUTATIONS + 1)]
    r = pc.push(*many, expect=413)
    assert str(MAX_BATCH_MUTATIONS) in r["detail"]
    big = patient(pc, note="x" * 20_000)
    count = MAX_BATCH_BYTES // len(json.dumps(big)) + 2
    r = pc.http.post("/api/v1/push", json={"mutations": [big] * count}, headers=pc.headers)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    _nothing_stored(pc)


def test_a_late_child_of_a_merged_patient_resolves_to_the_kept_one(pc: PC, pc2: PC) -> None:
    old, kept = new_id(), new_id()
    pc.push(patient(pc, old), patient(pc, kept))
    pc.push(pc.mutation("patient", old, {"merged_into": kept}))
    visit_id = new_id()
    late = pc2.mutation("visit", visit_id, {"patient_id": old, "visit_date": "2024-03-01"})
    res = pc2.push(late)["results"][0]
    assert res["redirected"] == {"patient_id": kept}
    # Stored as written (so every replica holds the same value under the same stamp);
    # the alias says where it belongs.
    r = pc.http.get(f"/api/v1/records/{visit_id}", headers=pc.headers).json()
    assert r["fields"]["patient_id"]["value"] == old
    # a chain: kept is merged again; the oldest id follows to the newest
    newest = new_id()
    pc.push(patient(pc, newest), pc.mutation("patient", kept, {"merged_into": newest}))
    appt = pc2.mutation("appointment", new_id(), {
        "patient_id": old, "starts_at": "2024-03-02T09:00:00+00:00", "duration_minutes": 30,
        "status": "booked"})
    assert pc2.push(appt)["results"][0]["redirected"] == {"patient_id": newest}


def test_pull_pages_and_excludes_own_echoes(pc: PC, pc2: PC) -> None:
    pc.push(*[patient(pc) for _ in range(5)])
    pc2.push(*[patient(pc2) for _ in range(3)])
    page = pc.pull(0, limit=2)
    assert [c["seq"] for c in page["changes"]] == [1, 2] and page["more"]
    everything = pc.pull_all(limit=3)
    assert [c["seq"] for c in everything] == list(range(1, 9))
    others = pc.pull_all(exclude_own=True, limit=2)
    assert {c["origin_node"] for c in others} == {pc2.node} and len(others) == 3
    assert pc.pull(8)["changes"] == [] and pc.pull(8)["cursor"] == 8


def test_another_installation_learns_nothing(pc: PC, stranger: PC) -> None:
    pid = new_id()
    pc.push(patient(pc, pid))
    assert stranger.pull()["changes"] == []
    r = stranger.http.get(f"/api/v1/records/{pid}", headers=stranger.headers)
    assert r.status_code == 404
    r = stranger.http.get("/api/v1/reconcile/patient", headers=stranger.headers).json()
    assert r["count"] == 0


def test_reconcile_digest_matches_the_shared_definition(pc: PC) -> None:
    ms = [patient(pc) for _ in range(20)]
    pc.push(*ms)
    rows = [(m["entity_id"], m["hlc"]["first_name"]) for m in ms]
    count, digest = range_digest(rows)
    whole = pc.http.get("/api/v1/reconcile/patient", headers=pc.headers).json()
    assert (whole["count"], whole["digest"]) == (count, digest)
    ids = sorted(r[0] for r in rows)
    mid = ids[10]
    low = pc.http.get("/api/v1/reconcile/patient", params={"end": mid, "items": True},
                      headers=pc.headers).json()
    assert low["count"] == 10
    assert low["digest"] == range_digest([r for r in rows if r[0] < mid])[1]
    assert [i for i, _ in low["items"]] == ids[:10]
    summary = pc.http.get("/api/v1/reconcile", headers=pc.headers).json()
    assert summary["patient"]["digest"] == digest and summary["visit"]["count"] == 0
    r = pc.http.get("/api/v1/reconcile/invoice", headers=pc.headers)
    assert r.status_code == 404


def test_push_request_is_strict(pc: PC) -> None:
    for body in ({"mutations": "x"}, {"mutations": [], "more": 1}, {}):
        r = pc.http.post("/api/v1/push", json=body, headers=pc.headers)
        assert r.status_code == 422, body


def test_client_sees_one_http_api(client: TestClient) -> None:
    doc = client.app.openapi()  # type: ignore[attr-defined]
    assert "/api/v1/push" in doc["paths"] and "/files/" in doc["paths"]


def test_money_is_stored_and_pulled_as_decimal_text(pc: PC) -> None:
    owner = patient(pc)
    pc.push(owner)
    now, before = new_id(), new_id()
    pc.push(
        pc.mutation("payment", now, {"patient_id": owner["entity_id"], "paid_on": "2026-12-01",
                                     "amount": "1250.05"}),
        # As an agent sent it before decimal text: minor units, read as such.
        pc.mutation("payment", before, {"patient_id": owner["entity_id"],
                                        "paid_on": "2026-12-01", "amount": 125005}),
    )
    amounts = {c["entity_id"]: c["fields"]["amount"]["value"] for c in pc.pull_all()
               if c["entity"] == "payment"}
    assert amounts == {now: "1250.05", before: "1250.05"}


def test_a_pc_that_asks_for_notable_results_gets_only_those(pc: PC) -> None:
    """A PC of this release reads nothing from "applied as sent": it asks for the rest
    only. The batch is stored whole either way, and a PC that does not ask gets all."""
    now = time.time_ns() // 1_000_000
    plain = pc.mutation("patient", new_id(), {"first_name": "Ann"})
    pid = new_id()
    fast = pc.mutation("patient", pid, {"first_name": "Bob"},
                       hlc=stamp(now + 10 * MAX_DRIFT_MS, pc.node))
    stale = pc.mutation("patient", plain["entity_id"], {"first_name": "Old"},
                        hlc=stamp(1, pc.node))
    r = pc.http.post("/api/v1/push", params={"notable": "true"},
                     json={"mutations": [plain, fast, stale]}, headers=pc.headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [res["id"] for res in answer["results"]] == [fast["id"], stale["id"]]
    assert answer["results"][0]["clamped"] == ["first_name"]
    assert answer["results"][1]["ignored"] == ["first_name"]
    assert answer["last_seq"] == 2
    names = {c["entity_id"]: c["fields"]["first_name"]["value"] for c in pc.pull()["changes"]}
    assert names == {plain["entity_id"]: "Ann", pid: "Bob"}
    # The same batch again, without asking: every result, each a replay.
    again = pc.push(plain, fast, stale)["results"]
    assert [res["id"] for res in again] == [plain["id"], fast["id"], stale["id"]]
    assert all(res["replayed"] for res in again)
    assert again[0]["applied"] == ["first_name"] and again[0]["seq"] == 1
