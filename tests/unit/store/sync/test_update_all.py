""""Update all patient data now" queues every synced row whole, all of them in one
transaction: each is sent as the mutation the row's values and stamps make when it is
sent, for every kind of record."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from app.core.hlc import Timestamp
from app.core.ids import is_uuid, new_id, uuid7
from app.core.wire import ENTITIES, FieldSpec, Mutation
from app.store.models import MODEL_BY_ENTITY, SYNCED_MODELS, OutboxMutation, Patient, SyncState
from app.store.sync import requeue_repo
from app.store.sync.outbox import patient_of
from app.store.sync.sync_repo import SyncRepo, queue_everything, queue_rows

OTHER_PC = "e" * 16
SORTED = orjson.OPT_SORT_KEYS
# Text a JSON writer must escape or keep as it is: quotes, backslashes, control
# characters allowed in text, accents, other scripts, characters outside the BMP.
AWKWARD = 'Zoë "Ann" \\ O\'Brien\ttab\nline 北京 Москва 🦷 \u2028'


def wire_value(f: FieldSpec, i: int, refs: dict[str, str]) -> Any:
    kind, choices = f.kind, f.choices
    return {
        "str": f"{AWKWARD} {i}", "text": f"{AWKWARD} long {i}", "int": 40 + i,
        "money": f"{1250 + i}.50", "bool": i % 2 == 0, "date": f"2026-03-{10 + i:02d}",
        "datetime": f"2026-03-{10 + i:02d}T09:30:00+00:00",
        "enum": choices[i % len(choices)] if choices else None,
        "argon2id": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "uuid": refs.get(f.ref or "", refs["patient"]),
    }[kind]


def pulled_rows(store) -> dict[str, list[str]]:
    """Rows of every synced kind as another PC made them: each field with a value,
    some with a base, one field left out (never stamped here)."""
    patient = new_id()
    refs = {"patient": patient}
    made: dict[str, list[str]] = {}
    with store.db.write(remote_apply=True) as s:
        for model in SYNCED_MODELS:
            spec = ENTITIES[model.__entity__].fields
            made[model.__entity__] = []
            for i in range(2):
                rid = patient if model is Patient and i == 0 else new_id()
                values = {n: wire_value(f, i, refs) for n, f in spec.items()}
                if model.__entity__ == "payment" and i == 1:
                    values["patient_id"] = None  # its patient: the agreement's
                hlc = str(Timestamp(1_760_000_000_000 + i, i, OTHER_PC))
                older = str(Timestamp(1_750_000_000_000, 0, OTHER_PC))
                names = list(spec)[: len(spec) - 1] if len(spec) > 2 else list(spec)
                stamps = {n: [hlc, older if k % 2 else None] for k, n in enumerate(names)}
                s.add(model(id=rid, stamps=stamps, **values))
                made[model.__entity__].append(rid)
                refs.setdefault(model.__entity__, rid)
            s.flush()
    return made


def expected(store, entity: str, rid: str) -> tuple[dict[str, Any], str | None]:
    """The payload (without its id) and patient of the row, as the flush hook's path
    builds them in Python: Mutation.to_wire() of the row's stamped fields."""
    model = MODEL_BY_ENTITY[entity]
    with store.db.read() as s:
        obj = s.get(model, rid)
        node = s.scalar(select(SyncState.node_id))
        stamps = obj.stamps
        names = [n for n in ENTITIES[entity].fields if n in stamps]
        wire = Mutation(
            id="", entity=entity, entity_id=rid, node=node,
            fields={n: getattr(obj, n) for n in names},
            hlc={n: stamps[n][0] for n in names}, base={n: stamps[n][1] for n in names},
        ).to_wire()
        return wire, patient_of(obj, s)


def queued(store) -> list[OutboxMutation]:
    with store.db.read() as s:
        rows = list(s.scalars(select(OutboxMutation).order_by(OutboxMutation.seq)))
        s.expunge_all()
        return rows


def sent(store) -> dict[int, str]:
    """The payload text of each queued row, as the push job reads it to send it."""
    return {m.seq: m.raw for m in SyncRepo(store.db).outbox_batch(100_000, 1 << 40)}


def test_every_kind_is_queued_as_the_mutation_its_row_makes(store, admin) -> None:
    v = admin.viewer()
    local = store.patients.create(v, {"first_name": "Ana", "last_name": AWKWARD})
    store.patients.update(v, local.id, {"last_name": "Lima", "allergies": "Latex"})
    made = pulled_rows(store)
    with store.db.write() as s:
        s.connection().exec_driver_sql("DELETE FROM outbox")

    count = queue_everything(store.db)

    rows = queued(store)
    raw = sent(store)
    assert count == len(rows) == sum(len(ids) for ids in made.values()) + 2  # + local, admin
    assert {r.entity for r in rows} == set(ENTITIES)
    ids = [r.mutation_id for r in rows]
    assert len(set(ids)) == len(ids) and all(is_uuid(i) for i in ids)
    for row in rows:
        want, patient = expected(store, row.entity, row.entity_id)
        got = json.loads(raw[row.seq])
        assert got.pop("id") == row.mutation_id
        want.pop("id")
        # As text, so that true and 1 differ
        assert orjson.dumps(got, option=SORTED) == orjson.dumps(want, option=SORTED), row.entity
        assert (row.patient_id, row.status, row.attempts) == (patient, "pending", 0)
        # Valid for the cloud, and the text the store's own JSON writer would write.
        Mutation.from_wire(json.loads(raw[row.seq]))
        assert orjson.dumps(json.loads(raw[row.seq])).decode() == raw[row.seq]
    by_id = {r.entity_id: json.loads(raw[r.seq]) for r in rows}
    assert by_id[local.id]["fields"]["last_name"] == "Lima"
    assert by_id[local.id]["base"]["last_name"] is not None  # the edit's own base
    assert by_id[made["visit"][0]]["fields"]["notes"].startswith(AWKWARD)
    bools = [n for n, f in ENTITIES["visit"].fields.items() if f.kind == "bool"]
    assert [by_id[i]["fields"][bools[0]] for i in made["visit"]] == [True, False]
    # Queued in the order of the kinds (a visit after its patient).
    kinds = [r.entity for r in rows]
    assert kinds == sorted(kinds, key=[m.__entity__ for m in SYNCED_MODELS].index)


def test_a_row_without_stamps_is_not_queued_and_repairs_queue_only_their_rows(
    store, admin
) -> None:
    made = pulled_rows(store)
    with store.db.write(remote_apply=True) as s:
        s.get(MODEL_BY_ENTITY["note"], made["note"][1]).stamps = {}
        s.connection().exec_driver_sql("DELETE FROM outbox")
    assert queue_rows(store.db, "note", made["note"]) == 1
    assert queue_rows(store.db, "visit", [made["visit"][1], new_id()]) == 1
    assert [(r.entity, r.entity_id) for r in queued(store)] == [
        ("note", made["note"][0]), ("visit", made["visit"][1])]


def test_ids_made_after_update_all_are_new(store, admin) -> None:
    pulled_rows(store)
    queue_everything(store.db)
    later = new_id()
    assert all(r.mutation_id < later for r in queued(store))
    first = uuid7.reserve(3)
    assert uuid7.next_int() > first + 2


def test_a_failure_part_way_queues_nothing(store, admin, monkeypatch) -> None:
    pulled_rows(store)
    with store.db.write() as s:
        s.connection().exec_driver_sql("DELETE FROM outbox")
    real = requeue_repo._queue_table

    def fail_at_visits(conn: Any, model: Any, ids: Any = None) -> int:
        if model.__entity__ == "visit":
            raise OSError("disk full")
        return real(conn, model, ids)

    monkeypatch.setattr(requeue_repo, "_queue_table", fail_at_visits)
    with pytest.raises(OSError):
        queue_everything(store.db)
    assert queued(store) == []
    monkeypatch.undo()
    assert queue_everything(store.db) == len(queued(store)) > 0


def test_a_row_queued_whole_is_sent_as_it_is_when_sent(store, admin) -> None:
    """An edit after "Update all" is not overwritten by a stale copy: the whole row
    goes up with the edit's value and stamp, and the edit as its own change after it."""
    v = admin.viewer()
    p = store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    with store.db.write() as s:
        s.connection().exec_driver_sql("DELETE FROM outbox")
    queue_everything(store.db)
    store.patients.update(v, p.id, {"last_name": "Adler"})
    payloads = [json.loads(raw) for raw in sent(store).values()]
    mine = [m for m in payloads if m["entity_id"] == p.id]
    assert [m["fields"]["last_name"] for m in mine] == ["Adler", "Adler"]
    assert mine[0]["hlc"]["last_name"] == mine[1]["hlc"]["last_name"]
    assert mine[0]["fields"]["first_name"] == "Ana" and "first_name" not in mine[1]["fields"]
    assert len({m["id"] for m in mine}) == 2
    # The list of changes waiting shows it by its patient, as any change.
    from app.store.sync.upload_list_repo import UploadListRepo

    items = UploadListRepo(store.db).changes(v)
    assert [(i.patient_name, i.fields) for i in items] == [
        ("Ana Adler", ("the whole record",)), ("Ana Adler", ("last_name",))]


CHILD = """
import sys, time
from pathlib import Path
from keyring.backends import null
from app.platform.secrets import SecretStore
from app.store.db import open_database
from app.store.sync import requeue_repo

db = open_database(Path(sys.argv[1]), SecretStore(null.Keyring()), allow_key_file=True)
real = requeue_repo._queue_table

def stall(conn, model, ids=None):
    if model.__entity__ == "user":
        conn.exec_driver_sql("PRAGMA cache_size = 5")  # what is queued spills to disk
    if model.__entity__ == "visit":
        print("queueing", flush=True)
        time.sleep(60)
    return real(conn, model, ids)

requeue_repo._queue_table = stall
requeue_repo.queue_everything(db)
"""


def test_a_process_killed_while_queueing_leaves_nothing_queued(
    store, admin, db_path, secrets_store
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from app.store import keys

    made = pulled_rows(store)
    with store.db.write(remote_apply=True) as s:
        s.add_all(Patient(id=new_id(), first_name=f"P{i}", last_name=AWKWARD,
                          stamps={"first_name": [str(Timestamp(1_760_000_000_000, i, OTHER_PC)),
                                                 None]})
                  for i in range(300))
        s.connection().exec_driver_sql("DELETE FROM outbox")
    keys._write_key_file(keys.key_file_path(db_path), keys.load_key(db_path, secrets_store))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "queueing\n"
        # Users and patients are queued, visits not yet: the power goes.
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert queued(store) == []
    rows = sum(len(ids) for ids in made.values()) + 300 + 1  # + the admin
    assert queue_everything(store.db) == rows == len(queued(store))


def test_a_cloud_that_takes_the_shared_stamp_gets_each_stamp_once(store, admin) -> None:
    """To a cloud that says so, a row queued whole whose fields share one stamp and have
    no base goes with that stamp once; any other row field by field, as before."""
    v = admin.viewer()
    local = store.patients.create(v, {"first_name": "Ana", "last_name": AWKWARD})
    edited = store.patients.create(v, {"first_name": "Bo"})
    store.patients.update(v, edited.id, {"last_name": "Lima"})
    made = pulled_rows(store)  # stamps with bases
    with store.db.write() as s:
        s.connection().exec_driver_sql("DELETE FROM outbox")
    queue_everything(store.db)
    full = sent(store)
    shared = {m.seq: m.raw for m in SyncRepo(store.db).outbox_batch(100_000, 1 << 40,
                                                                   shared_hlc=True)}
    assert shared.keys() == full.keys()
    by_id = {}
    for seq, raw in shared.items():
        got, want = json.loads(raw), json.loads(full[seq])
        by_id[got["entity_id"]] = got
        a, b = Mutation.from_wire(got), Mutation.from_wire(want)
        # The same mutation for the cloud: every field's stamp and base as before.
        assert (a.id, a.entity, a.entity_id, a.node, a.fields, a.hlc) == \
            (b.id, b.entity, b.entity_id, b.node, b.fields, b.hlc)
        assert {n: a.base.get(n) for n in a.fields} == {n: b.base.get(n) for n in b.fields}
    stamp = by_id[local.id]["hlc"]
    assert isinstance(stamp, str) and by_id[local.id]["base"] == {}
    assert by_id[local.id]["fields"]["first_name"] == "Ana"
    # Two stamps (an edit), or bases: field by field.
    assert isinstance(by_id[edited.id]["hlc"], dict)
    assert isinstance(by_id[made["visit"][0]]["hlc"], dict)


def test_stamps_clamped_by_the_cloud_are_taken_for_a_row_sent_with_its_shared_stamp(
        store, admin) -> None:
    from sync_agent.push_job import _adopt_clamped

    local = store.patients.create(admin.viewer(), {"first_name": "Ana", "last_name": "Lima"})
    with store.db.write() as s:
        s.connection().exec_driver_sql("DELETE FROM outbox")
    queue_everything(store.db)
    batch = SyncRepo(store.db).outbox_batch(10, 1 << 20, shared_hlc=True)
    (m,) = [q for q in batch if q.payload["entity_id"] == local.id]
    pushed = m.payload["hlc"]
    assert isinstance(pushed, str)
    theirs = str(Timestamp(1_700_000_000_000, 0, OTHER_PC))
    answer = {"results": [{"id": m.payload["id"], "clamped": ["first_name"],
                           "stamps": {"first_name": theirs}}]}
    _adopt_clamped(SyncRepo(store.db), None, [m], answer)  # type: ignore[arg-type]
    with store.db.read() as s:
        stamps = s.get(Patient, local.id).stamps
    assert stamps["first_name"][0] == theirs and stamps["last_name"][0] == pushed
