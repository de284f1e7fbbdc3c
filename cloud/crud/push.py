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

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.hlc import MAX_DRIFT_MS, Timestamp, clamp
from app.core.merge import Conflict, FieldState, incoming_states, merge_fields
from app.core.wire import ENTITIES, MAX_BATCH_MUTATIONS, Mutation
from app.platform.bulk_insert import insert_many
from cloud.crud import DeviceCtx, Refused, conflicts
from cloud.crud.aliases import AliasMap
from cloud.crud.idset import among
from cloud.crud.record_log import RecordLog, RecordState
from cloud.db import write_transaction
from cloud.institutions.migration_models import MovedRow
from cloud.models import AppliedMutation, Device, Installation, Record, utcnow

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


# (field, referenced entity) of each entity's UUID references
_REF_FIELDS = {name: [(f, spec.ref) for f, spec in e.fields.items() if spec.ref]
               for name, e in ENTITIES.items()}


def _refs(m: Mutation) -> list[tuple[str, str, str]]:
    """(field, referenced entity, id) of the UUID references a mutation sets."""
    fields = m.fields
    return [(name, ref, fields[name]) for name, ref in _REF_FIELDS[m.entity]
            if isinstance(fields.get(name), str)]


def _limit(now_ms: int) -> str:
    """The first 13 characters of a stamp (its wall time) that no stamp may exceed: a
    stamp within it compares as text, without parsing, and nearly all are."""
    return f"{now_ms + MAX_DRIFT_MS:013d}"


def _unclamped(m: Mutation, limit: str) -> bool:
    # Every stamp starts with its 13 digits of wall time: the greatest text is the latest.
    if max(m.hlc.values())[:13] > limit:
        return False
    bases = {b for b in m.base.values() if b is not None}
    return not bases or max(bases)[:13] <= limit


def _redirected(aliases: AliasMap, field: str | None, value: Any) -> dict[str, str]:
    """A late reference to a merged patient is stored as written — rewriting it here
    would leave the writer's copy with the same stamp and another value, and the
    replicas would never converge. It resolves through the alias when read."""
    if field and isinstance(value, str) and aliases:
        kept = aliases.resolve(value)
        if kept != value:
            return {field: kept}
    return {}


def _create(
    batch: _Batch, state: dict[str, RecordState], aliases: AliasMap, device: DeviceCtx,
    m: Mutation, seq: int, now: dt.datetime,
) -> dict[str, Any]:
    """A mutation that creates its record: every field applies as it comes (what
    merging into nothing gives), with no conflict; most of a first upload."""
    rec = state[m.entity_id] = RecordState(m.entity)
    # A field without a base is one left out of the mutation's (as a record keeps it:
    # cloud.models.BasesJSON), so the mutation's bases are used as they are.
    batch.log.put(rec, m.entity_id, m.fields, m.hlc, m.base,
                  seq=seq, origin_node=m.node, now=now, device_id=device.id, mutation_id=m.id)
    if m.entity == "patient" and "merged_into" in m.fields:
        aliases.set(m.entity_id, m.fields["merged_into"])
    result: dict[str, Any] = {"id": m.id, "status": "applied", "seq": seq,
                              "applied": sorted(m.fields), "ignored": [], "conflicts": []}
    pf = ENTITIES[m.entity].patient_field
    redirected = _redirected(aliases, pf, m.fields.get(pf) if pf else None)
    if redirected:
        result["redirected"] = redirected
        batch.answer(m, device, result, now)
    else:
        # Stored as its seq alone: the rest is the mutation's (see _replayed).
        batch.answer(m, device, {_CREATED: seq}, now)
    return result


def notable(result: dict[str, Any]) -> bool:
    """Whether a mutation's result says more than "every field applied as sent"."""
    return bool(result.get("ignored") or result.get("conflicts") or "clamped" in result
                or "redirected" in result or "replayed" in result)


# The stored result of a mutation that created its record: {_CREATED: seq}. A mutation
# id names one mutation for good (a PC sends the same one again, never another under
# its id), so the rest of the answer is read from the replay itself.
_CREATED = "@created"


def _replayed(stored: dict[str, Any], m: Mutation) -> dict[str, Any]:
    """The answer to a replay: the stored result as it was first given."""
    if _CREATED in stored:
        return {"id": m.id, "status": "applied", "seq": stored[_CREATED],
                "applied": sorted(m.fields), "ignored": [], "conflicts": [],
                "replayed": True}
    return {**stored, "replayed": True}


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

    log: RecordLog
    # (id, installation_id, device_id, result, created_at) of each mutation applied now
    mutations: list[tuple[Any, ...]] = field(default_factory=list)
    found: dict[str, dict[str, Any]] = field(default_factory=dict)  # conflicts, by key
    seen: list[conflicts.Seen] = field(default_factory=list)  # may settle conflicts

    def answer(self, m: Mutation, device: DeviceCtx, result: dict[str, Any],
               now: dt.datetime) -> None:
        """Remember the result a mutation got, to answer a replay with it."""
        self.mutations.append((m.id, device.installation_id, device.id, result, now))


def push(
    session: Session, *, device: DeviceCtx, mutations: Sequence[Mutation],
    now_ms: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Apply a parsed batch; returns (one result per mutation, installation's last seq)."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    inst_id = device.installation_id
    try:
        with write_transaction(session, inst_id) as inst:
            results = _apply(session, device, mutations, now_ms, inst)
            last_seq = inst.last_seq
    except IntegrityError:
        raise Refused(409, "a record of this batch was written concurrently by another "
                      "installation; nothing was stored") from None
    return results, last_seq


def _apply(
    session: Session, device: DeviceCtx, mutations: Sequence[Mutation], now_ms: int,
    inst: Installation,
) -> list[dict[str, Any]]:
    inst_id = inst.id
    seq = inst.last_seq
    seen = _replays(session, inst_id, mutations)
    fresh = [m for m in mutations if m.id not in seen]
    records, referred = _load(session, inst_id, fresh)
    aliases = AliasMap.load(session, installation_id=inst_id,
                            ids={m.entity_id for m in fresh} | referred)
    nodes = _device_by_node(session, inst_id)
    now = utcnow()  # the batch is one transaction: one time for all it writes
    batch = _Batch(RecordLog(inst_id))
    state = {eid: RecordState.of(r) for eid, r in records.items()}
    results: list[dict[str, Any]] = []
    limit = _limit(now_ms)
    for m in mutations:
        if m.id in seen:
            results.append(_replayed(seen[m.id], m))
        elif m.entity_id not in state and _unclamped(m, limit):
            seq += 1
            results.append(_create(batch, state, aliases, device, m, seq, now))
        else:
            result = _merge(batch, state, aliases, device, m, seq, now, now_ms, nodes)
            seq = result["seq"] or seq
            results.append(result)
    inst.last_seq = seq
    for m, result in zip(mutations, results, strict=True):
        if result.get("clamped") and not result.get("replayed"):
            # The stamps the record holds now for the fields clamped: the PC takes them
            # from this answer instead of asking for the record.
            stamps = state[m.entity_id].stamps if m.entity_id in state else {}
            result["stamps"] = {n: stamps[n] for n in result["clamped"] if n in stamps}
    batch.log.write(session.connection())
    insert_many(session.connection(), _MUTATIONS,
                ("id", "installation_id", "device_id", "result", "created_at"), batch.mutations)
    conflicts.record_found(session, inst, batch.found)
    conflicts.settle_seen(session, inst, batch.seen)
    aliases.write(session)
    return results


def _replays(session: Session, inst_id: str,
             mutations: Sequence[Mutation]) -> dict[str, dict[str, Any]]:
    """The stored result of each mutation of the batch applied before."""
    seen: dict[str, dict[str, Any]] = {}
    for done in session.execute(
        select(AppliedMutation.id, AppliedMutation.installation_id, AppliedMutation.result)
        .where(among(session, AppliedMutation.id, [m.id for m in mutations]))
    ):
        if done.installation_id != inst_id:
            raise Refused(409, f"mutation id {done.id} was already used elsewhere")
        seen[done.id] = done.result
    return seen


def _load(session: Session, inst_id: str,
          fresh: Sequence[Mutation]) -> tuple[dict[str, Record], set[str]]:
    """The stored records the batch changes, and the ids it only refers to, once each
    mutation is checked against them (whose records, and of what kind)."""
    own = {m.entity_id for m in fresh}
    refs = [_refs(m) for m in fresh]
    referred = {v for found in refs for _f, _e, v in found} - own
    records: dict[str, Record] = {
        r.entity_id: r
        for r in session.scalars(select(Record).where(among(session, Record.entity_id, own)))
    } if own else {}
    # Of a record only referred to, whose it is and what it is are checked, not its
    # fields: a batch of visits refers to a hundred patients.
    targets: dict[str, Any] = dict(records)
    if referred:
        targets.update((r.entity_id, r) for r in session.execute(
            select(Record.entity_id, Record.installation_id, Record.entity)
            .where(among(session, Record.entity_id, referred))
        ))
    _moved_away(session, inst_id, [i for i, t in targets.items() if t.installation_id != inst_id])
    for m, found in zip(fresh, refs, strict=True):
        _check(m, found, records.get(m.entity_id), targets, inst_id)
    return records, referred


def _moved_away(session: Session, inst_id: str, strangers: list[str]) -> None:
    """A write to a row that a data migration took to another institution is refused
    in words (the PC marks that change failed and goes on with the rest)."""
    if not strangers:
        return
    gone = session.scalar(select(MovedRow.entity_id).where(
        MovedRow.entity_id.in_(strangers), MovedRow.from_installation_id == inst_id).limit(1))
    if gone is not None:
        raise Refused(409, "This change was not kept: its patient's data was moved to "
                           "another clinic by a data migration.")


def _check(m: Mutation, refs: list[tuple[str, str, str]], rec: Record | None,
           targets: dict[str, Any], inst_id: str) -> None:
    if rec is not None and rec.installation_id != inst_id:
        raise Refused(403, f"{m.entity} {m.entity_id} is not in this installation")
    if rec is not None and rec.entity != m.entity:
        raise Refused(409, f"{m.entity_id} is a {rec.entity}, not a {m.entity}")
    for name, ref_entity, value in refs:
        target = targets.get(value)
        if target is None:
            continue  # not pushed yet: offline PCs may send children first
        if target.installation_id != inst_id:
            raise Refused(403, f"{m.entity}.{name} refers to a record that is not in "
                          "this installation")
        if target.entity != ref_entity:
            raise Refused(422, f"{m.entity}.{name} refers to a {target.entity}, "
                          f"not a {ref_entity}")


def _merge(
    batch: _Batch, state: dict[str, RecordState], aliases: AliasMap, device: DeviceCtx,
    m: Mutation, seq: int, now: dt.datetime, now_ms: int, nodes: dict[str, str],
) -> dict[str, Any]:
    """A mutation merged field by field into its record (app.core.merge); its result
    has a seq when some field applied."""
    incoming, clamped = _clamped(m, now_ms)
    rec = state.get(m.entity_id)
    pf = ENTITIES[m.entity].patient_field
    redirected = _redirected(aliases, pf, incoming[pf].value if pf in incoming else None)
    current = {} if rec is None else {
        n: FieldState(v, rec.stamps[n], rec.bases.get(n)) for n, v in rec.fields.items()
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
        if rec is None:
            rec = state[m.entity_id] = RecordState(m.entity)
        applied = merged.applied
        batch.log.put(rec, m.entity_id, {n: st.value for n, st in applied.items()},
                      {n: st.hlc for n, st in applied.items()},
                      {n: st.base for n, st in applied.items()}, seq=seq,
                      origin_node=m.node, now=now, device_id=device.id, mutation_id=m.id)
        if m.entity == "patient" and "merged_into" in applied:
            aliases.set(m.entity_id, applied["merged_into"].value)
        batch.seen.extend((m.entity_id, n, st.base) for n, st in applied.items() if st.base)
    for c in merged.conflicts:
        key = c.key(m.entity, m.entity_id)
        result["conflicts"].append(key)
        batch.found[key] = _conflict_row(device.installation_id, m, c, key, seq, nodes)
    batch.answer(m, device, result, now)
    return result


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
