"""Applying a pushed batch of mutations: exactly once, per-field last writer wins.

A batch is one transaction of its installation (see `cloud.db.write_transaction`): it
is refused as a whole (nothing stored) or applied as a whole. Each mutation id is
remembered with the result it got; a replay is answered with that result.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.hlc import MAX_DRIFT_MS, Timestamp, clamp
from app.core.merge import Conflict, FieldState, incoming_states, merge_fields
from app.core.reconcile import row_version
from app.core.wire import ENTITIES, MAX_BATCH_MUTATIONS, Mutation
from cloud.crud import DeviceCtx, Refused
from cloud.crud.aliases import AliasMap
from cloud.db import write_transaction
from cloud.models import AppliedMutation, Change, ConflictRecord, Device, Record, utcnow

_RECORDS = cast(Table, Record.__table__)
_CHANGES = cast(Table, Change.__table__)
_MUTATIONS = cast(Table, AppliedMutation.__table__)


def parse_batch(raw: Sequence[Any]) -> list[Mutation]:
    if len(raw) > MAX_BATCH_MUTATIONS:
        raise Refused(413, f"a batch holds at most {MAX_BATCH_MUTATIONS} mutations")
    out: list[Mutation] = []
    for i, item in enumerate(raw):
        try:
            m = Mutation.from_wire(item)
        except (ValueError, TypeError) as exc:
            raise Refused(422, f"mutation {i}: {exc}") from None
        if m.fields.get("merged_into") == m.entity_id:
            raise Refused(422, f"mutation {i}: a {m.entity} can not be merged into itself")
        out.append(m)
    return out


# What the audit log says of a program user's change: values people may read, and of the
# password only that it changed (its hash is a secret, kept out of every log).
_USER_SHOWN = ("username", "display_name", "role", "active", "merged_into")


def user_changes(
    mutations: Sequence[Mutation], results: Sequence[dict[str, Any]]
) -> list[tuple[str, str]]:
    """(user id, what changed) of the program-user changes a batch applied now (not
    replays), for the audit log."""
    out: list[tuple[str, str]] = []
    for m, r in zip(mutations, results, strict=True):
        if m.entity != "user" or r.get("replayed") or not r.get("applied"):
            continue
        applied = set(r["applied"])
        said = [f"{n}={m.fields[n]}" for n in _USER_SHOWN if n in applied]
        if "password_hash" in applied:
            said.append("password changed")
        out.append((m.entity_id, "; ".join(said)))
    return out


def _refs(m: Mutation) -> list[tuple[str, str, str]]:
    """(field, referenced entity, id) of the UUID references a mutation sets."""
    spec = ENTITIES[m.entity]
    return [
        (name, spec.fields[name].ref or "", value)
        for name, value in m.fields.items()
        if spec.fields[name].ref and isinstance(value, str)
    ]


def _limit(now_ms: int) -> str:
    """The first 13 characters of a stamp (its wall time) that no stamp may exceed: a
    stamp within it compares as text, without parsing, and nearly all are."""
    return f"{now_ms + MAX_DRIFT_MS:013d}"


def _unclamped(m: Mutation, limit: str) -> bool:
    return all(h[:13] <= limit for h in m.hlc.values()) and all(
        b is None or b[:13] <= limit for b in m.base.values())


def _redirected(aliases: AliasMap, field: str | None, value: Any) -> dict[str, str]:
    """A late reference to a merged patient is stored as written — rewriting it here
    would leave the writer's copy with the same stamp and another value, and the
    replicas would never converge. It resolves through the alias when read."""
    if field and isinstance(value, str):
        kept = aliases.resolve(value)
        if kept != value:
            return {field: kept}
    return {}


def _create(
    batch: _Batch, state: dict[str, dict[str, Any]], aliases: AliasMap, device: DeviceCtx,
    m: Mutation, seq: int, now: dt.datetime,
) -> dict[str, Any]:
    """A mutation that creates its record: every field applies as it comes (what
    merging into nothing gives), with no conflict; most of a first upload."""
    inst_id = device.installation_id
    bases = {n: m.base.get(n) for n in m.fields}
    row = {"entity": m.entity, "fields": dict(m.fields), "stamps": dict(m.hlc), "bases": bases}
    state[m.entity_id] = row
    batch.new_records[m.entity_id] = {
        "entity_id": m.entity_id, "installation_id": inst_id, "entity": m.entity,
        "fields": row["fields"], "stamps": row["stamps"], "bases": bases,
        "max_hlc": row_version(m.hlc), "seq": seq,
    }
    batch.changes.append({
        "installation_id": inst_id, "seq": seq, "entity": m.entity,
        "entity_id": m.entity_id, "origin_node": m.node, "device_id": device.id,
        "mutation_id": m.id, "created_at": now,
        "fields": {n: {"value": v, "hlc": m.hlc[n], "base": bases[n]}
                   for n, v in m.fields.items()},
    })
    if m.entity == "patient" and "merged_into" in m.fields:
        aliases.set(m.entity_id, m.fields["merged_into"])
    result: dict[str, Any] = {"id": m.id, "status": "applied", "seq": seq,
                              "applied": sorted(m.fields), "ignored": [], "conflicts": []}
    pf = ENTITIES[m.entity].patient_field
    redirected = _redirected(aliases, pf, m.fields.get(pf) if pf else None)
    if redirected:
        result["redirected"] = redirected
    batch.mutations.append({"id": m.id, "installation_id": inst_id, "device_id": device.id,
                            "result": result, "created_at": now})
    return result


def _clamped(m: Mutation, now_ms: int) -> tuple[dict[str, FieldState], list[str]]:
    states = incoming_states(m)
    clamped: list[str] = []
    limit = _limit(now_ms)
    for name, st in states.items():
        if st.hlc[:13] <= limit and (st.base is None or st.base[:13] <= limit):
            continue
        hlc = str(clamp(Timestamp.parse(st.hlc), now_ms))
        base = st.base
        if base is not None:
            base = str(clamp(Timestamp.parse(base), now_ms))
        if hlc != st.hlc or base != st.base:
            clamped.append(name)
            states[name] = FieldState(st.value, hlc, base)
    return states, clamped


@dataclass
class _Batch:
    """What one batch writes, collected and then written in bulk."""

    new_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    mutations: list[dict[str, Any]] = field(default_factory=list)
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)


def push(
    session: Session, *, device: DeviceCtx, mutations: Sequence[Mutation],
    now_ms: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Apply a parsed batch; returns (one result per mutation, installation's last seq)."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    inst_id = device.installation_id
    try:
        with write_transaction(session, inst_id) as inst:
            results, last_seq = _apply(session, inst_id, device, mutations, now_ms,
                                       inst.last_seq)
            inst.last_seq = last_seq
    except IntegrityError:
        raise Refused(409, "a record of this batch was written concurrently by another "
                      "installation; nothing was stored") from None
    return results, last_seq


def _apply(
    session: Session, inst_id: str, device: DeviceCtx, mutations: Sequence[Mutation],
    now_ms: int, seq: int,
) -> tuple[list[dict[str, Any]], int]:
    ids = [m.id for m in mutations]
    seen: dict[str, dict[str, Any]] = {}
    for done in session.execute(
        select(AppliedMutation.id, AppliedMutation.installation_id, AppliedMutation.result)
        .where(AppliedMutation.id.in_(ids))
    ):
        if done.installation_id != inst_id:
            raise Refused(409, f"mutation id {done.id} was already used elsewhere")
        seen[done.id] = done.result
    fresh = [m for m in mutations if m.id not in seen]

    own = {m.entity_id for m in fresh}
    referred = {v for m in fresh for _f, _e, v in _refs(m)} - own
    wanted = own | referred
    records: dict[str, Record] = {
        r.entity_id: r
        for r in session.scalars(select(Record).where(Record.entity_id.in_(own)))
    } if own else {}
    # Of a record only referred to, whose it is and what it is are checked, not its
    # fields: a batch of visits refers to a hundred patients.
    targets: dict[str, Any] = {r.entity_id: r for r in records.values()}
    if referred:
        targets.update((r.entity_id, r) for r in session.execute(
            select(Record.entity_id, Record.installation_id, Record.entity)
            .where(Record.entity_id.in_(referred))
        ))
    aliases = AliasMap.load(session, installation_id=inst_id, ids=wanted)
    for m in fresh:
        rec = records.get(m.entity_id)
        if rec is not None and rec.installation_id != inst_id:
            raise Refused(403, f"{m.entity} {m.entity_id} is not in this installation")
        if rec is not None and rec.entity != m.entity:
            raise Refused(409, f"{m.entity_id} is a {rec.entity}, not a {m.entity}")
        for name, ref_entity, value in _refs(m):
            target = targets.get(value)
            if target is None:
                continue  # not pushed yet: offline PCs may send children first
            if target.installation_id != inst_id:
                raise Refused(403, f"{m.entity}.{name} refers to a record that is not in "
                              "this installation")
            if target.entity != ref_entity:
                raise Refused(422, f"{m.entity}.{name} refers to a {target.entity}, "
                              f"not a {ref_entity}")

    nodes = _device_by_node(session, inst_id)
    now = utcnow()  # the batch is one transaction: one time for all it writes
    batch = _Batch()
    state: dict[str, dict[str, Any]] = {
        eid: {"entity": r.entity, "fields": dict(r.fields), "stamps": dict(r.stamps),
              "bases": dict(r.bases)}
        for eid, r in records.items() if r.installation_id == inst_id
    }
    results: list[dict[str, Any]] = []
    limit = _limit(now_ms)
    for m in mutations:
        if m.id in seen:
            results.append({**seen[m.id], "replayed": True})
            continue
        row = state.get(m.entity_id)
        if row is None and _unclamped(m, limit):
            seq += 1
            results.append(_create(batch, state, aliases, device, m, seq, now))
            continue
        incoming, clamped = _clamped(m, now_ms)
        pf = ENTITIES[m.entity].patient_field
        redirected = _redirected(aliases, pf, incoming[pf].value if pf in incoming else None)
        current = {} if row is None else {
            n: FieldState(v, row["stamps"][n], row["bases"].get(n))
            for n, v in row["fields"].items()
        }
        merged = merge_fields(current, incoming)
        result: dict[str, Any] = {"id": m.id, "status": "applied", "seq": None,
                                  "applied": sorted(merged.applied),
                                  "ignored": sorted(set(incoming) - set(merged.applied)),
                                  "conflicts": []}
        if clamped:
            result["clamped"] = sorted(clamped)
        if redirected:
            result["redirected"] = redirected
        if merged.applied:
            seq += 1
            result["seq"] = seq
            if row is None:
                row = {"entity": m.entity, "fields": {}, "stamps": {}, "bases": {}}
                state[m.entity_id] = row
                target = batch.new_records
            else:
                target = batch.new_records if m.entity_id in batch.new_records else \
                    batch.changed_records
            for name, st in merged.applied.items():
                row["fields"][name] = st.value
                row["stamps"][name] = st.hlc
                row["bases"][name] = st.base
            target[m.entity_id] = {
                "entity_id": m.entity_id, "installation_id": inst_id, "entity": m.entity,
                "fields": dict(row["fields"]), "stamps": dict(row["stamps"]),
                "bases": dict(row["bases"]), "max_hlc": row_version(row["stamps"]),
                "seq": seq,
            }
            batch.changes.append({
                "installation_id": inst_id, "seq": seq, "entity": m.entity,
                "entity_id": m.entity_id, "origin_node": m.node, "device_id": device.id,
                "mutation_id": m.id, "created_at": now,
                "fields": {n: {"value": s.value, "hlc": s.hlc, "base": s.base}
                           for n, s in merged.applied.items()},
            })
            if m.entity == "patient" and "merged_into" in merged.applied:
                aliases.set(m.entity_id, merged.applied["merged_into"].value)
        for c in merged.conflicts:
            key = c.key(m.entity, m.entity_id)
            result["conflicts"].append(key)
            batch.conflicts[key] = _conflict_row(inst_id, m, c, key, seq, nodes)
        batch.mutations.append({"id": m.id, "installation_id": inst_id,
                                "device_id": device.id, "result": result,
                                "created_at": now})
        results.append(result)
    _write(session, inst_id, batch)
    aliases.write(session)
    return results, seq


def _device_by_node(session: Session, inst_id: str) -> dict[str, str]:
    rows = session.execute(
        select(Device.node, Device.id).where(Device.installation_id == inst_id)
        .order_by(Device.created_at)
    )
    return {node: dev_id for node, dev_id in rows}  # the newest device of a node wins


def _side(st: FieldState, nodes: dict[str, str]) -> dict[str, Any]:
    node = st.hlc[-16:]
    return {"value": st.value, "hlc": st.hlc, "base": st.base, "node": node,
            "device_id": nodes.get(node)}


def _conflict_row(inst_id: str, m: Mutation, c: Conflict, key: str, seq: int,
                  nodes: dict[str, str]) -> dict[str, Any]:
    return {"installation_id": inst_id, "key": key, "entity": m.entity,
            "entity_id": m.entity_id, "field": c.field, "winner": _side(c.winner, nodes),
            "loser": _side(c.loser, nodes), "seq": seq, "created_at": utcnow()}


def _write(session: Session, inst_id: str, batch: _Batch) -> None:
    # Core executemany on the session's connection: the rows are plain dicts already,
    # and the ORM's bulk path would only walk them once more.
    conn = session.connection()
    if batch.new_records:
        conn.execute(insert(_RECORDS), list(batch.new_records.values()))
    if batch.changed_records:
        stmt = update(_RECORDS).where(_RECORDS.c.entity_id == bindparam("record_id"))
        conn.execute(stmt, [
            {"record_id": r["entity_id"], **{k: v for k, v in r.items() if k != "entity_id"}}
            for r in batch.changed_records.values()
        ])
    if batch.changes:
        conn.execute(insert(_CHANGES), batch.changes)
    if batch.mutations:
        conn.execute(insert(_MUTATIONS), batch.mutations)
    if batch.conflicts:
        known = set(session.scalars(
            select(ConflictRecord.key).where(ConflictRecord.installation_id == inst_id,
                                             ConflictRecord.key.in_(list(batch.conflicts)))
        ))
        rows = [r for k, r in batch.conflicts.items() if k not in known]
        if rows:
            session.execute(insert(ConflictRecord), rows)
