"""The cloud's compact stored forms (app.core.compact): a created record's shared stamp
said once, no null bases, a creation's change and mutation result without the repeated
parts. Every reader sees what it saw before: the ORM, a PC of this release (compact
pull), a PC of the previous release (field by field) and a replayed push."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import DateTime, column, insert, table, text
from sqlalchemy.orm import Session

from app.core import compact
from app.core.ids import new_id
from cloud.config import Settings
from cloud.db import make_engine
from cloud.models import Change, JSONType, Record
from tests.unit.cloud.support import PC, patient, stamp


def _raw(settings: Settings, sql: str, **params: Any) -> list[Any]:
    """Rows as stored, below the column types that read them back whole."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # SQLite text, PG JSONB


def test_the_forms_read_back_as_written() -> None:
    h, g = "0001700000000001-0000-00000000000000aa", "0001700000000002-0000-00000000000000bb"
    values = {"first_name": "Ann", "gender": "female", "note": None}
    stamps = dict.fromkeys(values, h)
    created = compact.change_fields(values, stamps, {})
    assert created == {"@hlc": h, "@v": values}
    full = {n: {"value": v, "hlc": h, "base": None} for n, v in values.items()}
    assert compact.expanded(created) == full
    assert compact.expanded(full) == full  # an older row reads as it is
    # A change with a base, or with two stamps, stays field by field.
    edit = compact.change_fields({"gender": "male"}, {"gender": g}, {"gender": h})
    assert edit == {"gender": {"value": "male", "hlc": g, "base": h}}
    two = compact.change_fields(values, {**stamps, "note": g}, {})
    assert two["note"] == {"value": None, "hlc": g, "base": None}
    # A record's stamps: the shared one once, each other as it is; old rows as they are.
    mixed = {**stamps, "gender": g}
    assert compact.compact_stamps(dict(mixed)) == {"@hlc": h, "first_name": 0,
                                                   "gender": g, "note": 0}
    assert compact.expanded_stamps(compact.compact_stamps(dict(mixed))) == mixed
    assert compact.expanded_stamps(compact.stored_stamps(h, values)) == stamps
    assert compact.expanded_stamps(mixed) == mixed


def test_a_created_record_is_stored_compact_and_read_whole(
        pc: PC, pc2: PC, settings: Settings) -> None:
    pid = new_id()
    m = pc.mutation("patient", pid, {"first_name": "Ann", "gender": "female",
                                     "mobile": "0501234567"})
    pc.push(m)
    h = m["hlc"]["first_name"]
    stamps, bases = _raw(settings, "SELECT stamps, bases FROM records WHERE entity_id = :i",
                         i=pid)[0]
    assert _json(stamps) == {"@hlc": h, "first_name": 0, "gender": 0, "mobile": 0}
    assert _json(bases) == {}
    (fields,) = _raw(settings, "SELECT fields FROM changes WHERE entity_id = :i", i=pid)[0]
    assert _json(fields) == {"@hlc": h, "@v": m["fields"]}

    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        rec = s.get(Record, pid)
        assert rec is not None and rec.stamps == dict.fromkeys(m["fields"], h)
        change = s.query(Change).filter_by(entity_id=pid).one()
        assert change.fields == {n: {"value": v, "hlc": h, "base": None}
                                 for n, v in m["fields"].items()}
    engine.dispose()
    # The repair read of reconciliation gives every field's stamp and base.
    got = pc2.http.get(f"/api/v1/records/{pid}", headers=pc2.headers).json()
    assert got["fields"]["mobile"] == {"value": "0501234567", "hlc": h, "base": None}

    # An edit on top: merged per field as before, the record's stamps stay compact.
    pc2.wall = pc.wall + 5
    edit = pc2.mutation("patient", pid, {"mobile": "0509999999"}, base={"mobile": h})
    assert pc2.push(edit)["results"][0]["applied"] == ["mobile"]
    g = edit["hlc"]["mobile"]
    stamps, bases = _raw(settings, "SELECT stamps, bases FROM records WHERE entity_id = :i",
                         i=pid)[0]
    assert compact.expanded_stamps(_json(stamps)) == {"first_name": h, "gender": h,
                                                      "mobile": g}
    assert _json(bases) == {"mobile": h}
    got = pc.http.get(f"/api/v1/records/{pid}", headers=pc.headers).json()["fields"]
    assert got["mobile"] == {"value": "0509999999", "hlc": g, "base": h}
    assert got["gender"] == {"value": "female", "hlc": h, "base": None}


def test_a_pc_of_the_previous_release_pulls_every_change_field_by_field(
        pc: PC, pc2: PC) -> None:
    created = patient(pc, first_name="Ann")
    pc.push(created)
    h = created["hlc"]["first_name"]
    pc.wall += 5
    edit = pc.mutation("patient", created["entity_id"], {"first_name": "Anna"},
                       base={"first_name": h})
    pc.push(edit)
    full = {n: {"value": v, "hlc": h, "base": None} for n, v in created["fields"].items()}
    edited = {"first_name": {"value": "Anna", "hlc": edit["hlc"]["first_name"], "base": h}}

    old = pc2.pull()["changes"]  # no "compact": an agent of the previous release
    assert [c["fields"] for c in old] == [full, edited]
    new = pc2.pull(compact="true")["changes"]
    assert [c["fields"] for c in new] == [{"@hlc": h, "@v": created["fields"]}, edited]
    assert [{k: v for k, v in c.items() if k != "fields"} for c in old] == \
        [{k: v for k, v in c.items() if k != "fields"} for c in new]


def test_a_value_that_reads_like_the_compact_form_is_sent_as_it_is(pc: PC, pc2: PC) -> None:
    pid = new_id()
    first = pc.mutation("patient", pid, {"first_name": "@hlc", "note": '"@hlc": "@v"'})
    pc.push(first)
    h = first["hlc"]["note"]
    pc.wall += 5
    edit = pc.mutation("patient", pid, {"note": '{"@hlc": 1}'}, base={"note": h})
    pc.push(edit)
    changes = pc2.pull()["changes"]
    assert changes[0]["fields"]["first_name"] == {"value": "@hlc", "hlc": h, "base": None}
    assert changes[1]["fields"] == {"note": {"value": '{"@hlc": 1}',
                                             "hlc": edit["hlc"]["note"], "base": h}}


def test_rows_of_the_previous_release_are_read_and_merged(
        pc: PC, pc2: PC, settings: Settings) -> None:
    """Nothing was migrated: a record and a change stored field by field stay valid."""
    pid = new_id()
    h = stamp(pc.wall, pc.node)
    # Written as the previous release wrote them: plain JSON columns, field by field.
    records = table("records", *(column(c) for c in ("entity_id", "installation_id",
                                                    "entity", "max_hlc", "seq")),
                    column("fields", JSONType), column("stamps", JSONType),
                    column("bases", JSONType))
    changes = table("changes", *(column(c) for c in ("installation_id", "seq", "entity",
                                                    "entity_id", "origin_node")),
                    column("fields", JSONType), column("created_at", DateTime(timezone=True)))
    fields = {"first_name": "Old", "gender": "male"}
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE installations SET last_seq = last_seq + 1 WHERE id = :i"),
                     {"i": pc.installation_id})
        seq = conn.execute(text("SELECT last_seq FROM installations WHERE id = :i"),
                           {"i": pc.installation_id}).scalar_one()
        conn.execute(insert(records).values(
            entity_id=pid, installation_id=pc.installation_id, entity="patient",
            fields=fields, stamps=dict.fromkeys(fields, h), bases=dict.fromkeys(fields),
            max_hlc=h, seq=seq))
        conn.execute(insert(changes).values(
            installation_id=pc.installation_id, seq=seq, entity="patient", entity_id=pid,
            origin_node=pc.node, created_at=dt.datetime.now(dt.UTC),
            fields={n: {"value": v, "hlc": h, "base": None} for n, v in fields.items()}))
    engine.dispose()
    assert pc2.pull(compact="true")["changes"][0]["fields"]["gender"] == {
        "value": "male", "hlc": h, "base": None}
    pc2.wall = pc.wall + 5
    # A write that did not see the stored value loses to a newer one as before.
    late = pc2.mutation("patient", pid, {"gender": "female"}, hlc=stamp(pc.wall - 10, pc2.node))
    assert pc2.push(late)["results"][0]["ignored"] == ["gender"]
    ok = pc2.mutation("patient", pid, {"gender": "female"}, base={"gender": h})
    assert pc2.push(ok)["results"][0]["applied"] == ["gender"]
    got = pc.http.get(f"/api/v1/records/{pid}", headers=pc.headers).json()["fields"]
    assert got == {"first_name": {"value": "Old", "hlc": h, "base": None},
                   "gender": {"value": "female", "hlc": ok["hlc"]["gender"], "base": h}}


def test_a_replayed_creation_is_answered_byte_for_byte_as_the_first_time(
        pc: PC, settings: Settings) -> None:
    batch = [patient(pc, first_name=f"P{i}") for i in range(3)]
    pid = batch[0]["entity_id"]
    pc.wall += 5
    batch.append(pc.mutation("patient", pid, {"gender": "male"},
                             base={"gender": batch[0]["hlc"]["gender"]}))
    r = pc.http.post("/api/v1/push", json={"mutations": batch}, headers=pc.headers)
    first = orjson.loads(r.content)
    stored = {i: _json(v) for i, v in _raw(settings, "SELECT id, result FROM mutations")}
    assert stored[batch[0]["id"]] == {"@created": 1}  # the rest is the mutation's
    again = pc.http.post("/api/v1/push", json={"mutations": batch}, headers=pc.headers)
    # As an earlier release answered: the stored result with "replayed" after it.
    expected = {"results": [{**res, "replayed": True} for res in first["results"]],
                "last_seq": first["last_seq"]}
    replayed = orjson.loads(again.content)
    for i in range(3):  # the creations, key by key in the same order
        assert orjson.dumps(replayed["results"][i]) == orjson.dumps(expected["results"][i])
    assert replayed == expected
    if settings.database_url.startswith("sqlite"):
        assert again.content == orjson.dumps(expected)
    assert first["results"][0] == {"id": batch[0]["id"], "status": "applied", "seq": 1,
                                   "applied": ["first_name", "gender"], "ignored": [],
                                   "conflicts": []}


def test_a_result_stored_by_the_previous_release_is_replayed(
        pc: PC, settings: Settings) -> None:
    m = patient(pc, first_name="Ann")
    first = pc.push(m)["results"][0]
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE mutations SET result = :r WHERE id = :i"),
                     {"r": json.dumps(first), "i": m["id"]})
    engine.dispose()
    assert pc.push(m)["results"][0] == {**first, "replayed": True}


def test_pull_schema_names_both_forms(client: TestClient) -> None:
    spec = client.app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    assert set(spec["CompactFieldsOut"]["properties"]) == {"@hlc", "@v"}


def test_a_mutation_with_one_stamp_for_all_its_fields_is_taken(pc: PC, pc2: PC) -> None:
    """The shared form a PC sends to a cloud that says it takes it (each push answer
    says so): the same mutation as written field by field."""
    full = patient(pc, first_name="Ann", mobile="0501")
    h = full["hlc"]["first_name"]
    shared = {**patient(pc, first_name="Bea", mobile="0502"), "hlc": h}
    del shared["base"]
    r = pc.http.post("/api/v1/push", json={"mutations": [full, shared]}, headers=pc.headers)
    assert r.status_code == 200 and r.headers["Chairside-Accepts"] == "shared-hlc"
    assert [x["applied"] for x in r.json()["results"]] == [["first_name", "gender", "mobile"]] * 2
    got = pc2.http.get(f"/api/v1/records/{shared['entity_id']}", headers=pc2.headers).json()
    assert got["fields"]["mobile"] == {"value": "0502", "hlc": h, "base": None}
    # Stamps from the future are clamped in this form too, and said in the answer.
    ahead = stamp(int(time.time() * 1000) + 3_600_000, pc.node)
    late = {**pc.mutation("patient", shared["entity_id"], {"mobile": "0503"}), "hlc": ahead}
    res = pc.push(late)["results"][0]
    assert res["clamped"] == ["mobile"] and res["stamps"]["mobile"] < ahead
    # A broken shared stamp is refused in words, as any broken stamp.
    bad = {**patient(pc), "hlc": "yesterday"}
    r = pc.http.post("/api/v1/push", json={"mutations": [bad]}, headers=pc.headers)
    assert r.status_code == 422 and "hlc of first_name" in r.json()["detail"]
