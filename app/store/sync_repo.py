"""The store's side of sync: the outbox queue, applying pulled changes, conflicts.

Pulled changes are applied with the same per-field rule as the cloud (app.core.merge)
in one transaction together with the new pull cursor, so a crash applies all of a
page or none of it, and a page applied twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from app.core.hlc import Clock, Timestamp
from app.core.merge import FieldState, merge_fields
from app.core.wire import ENTITIES
from app.store.db import Database
from app.store.models import (
    MODEL_BY_ENTITY,
    ConflictRecord,
    OutboxMutation,
    Synced,
    SyncState,
)
from app.store.outbox import patient_of, utc_now_text

# Values a new row needs before its first fields arrive (a NOT NULL column whose
# creation change has not been seen here: never expected, but never a stuck pull).
_PLACEHOLDER = {
    "first_name": "",
    "visit_date": "1970-01-01",
    "starts_at": "1970-01-01T00:00:00+00:00",
    "paid_on": "1970-01-01",
    "amount": 0,
    "total": 0,
    "discount": 0,
    "tax": 0,
    "duration_minutes": 30,
}


@dataclass(frozen=True, slots=True)
class QueuedMutation:
    seq: int
    payload: dict[str, Any]
    size: int


@dataclass(frozen=True, slots=True)
class ApplyReport:
    applied_rows: int
    conflicts: int
    cursor: int


class SyncRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Outbox ---------------------------------------------------------------------------
    def outbox_batch(self, limit: int, max_bytes: int) -> list[QueuedMutation]:
        """The oldest pending mutations, at most `limit` and about `max_bytes`."""
        out: list[QueuedMutation] = []
        total = 0
        with self.db.read() as s:
            rows = s.execute(
                select(OutboxMutation.seq, OutboxMutation.payload)
                .where(OutboxMutation.status == "pending")
                .order_by(OutboxMutation.seq)
                .limit(limit)
            )
            for seq, payload in rows:
                size = len(json.dumps(payload, separators=(",", ":")))
                if out and total + size > max_bytes:
                    break
                out.append(QueuedMutation(seq, payload, size))
                total += size
        return out

    def acknowledge(self, seqs: Iterable[int]) -> None:
        """The cloud holds these: they leave the outbox."""
        seqs = list(seqs)
        if seqs:
            with self.db.write() as s:
                s.execute(delete(OutboxMutation).where(OutboxMutation.seq.in_(seqs)))

    def fail(self, seq: int, reason: str) -> None:
        with self.db.write() as s:
            s.execute(
                update(OutboxMutation)
                .where(OutboxMutation.seq == seq)
                .values(
                    status="failed", last_error=reason[:2000], attempts=OutboxMutation.attempts + 1
                )
            )

    def retry_failed(self) -> int:
        with self.db.write() as s:
            result = s.execute(
                update(OutboxMutation)
                .where(OutboxMutation.status == "failed")
                .values(status="pending")
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def outbox_counts(self) -> tuple[int, int]:
        """(pending, failed)."""
        with self.db.read() as s:
            rows = dict(
                s.execute(
                    select(OutboxMutation.status, func.count()).group_by(OutboxMutation.status)
                ).all()
            )
        return int(rows.get("pending", 0)), int(rows.get("failed", 0))

    def adopt_stamps(
        self, entity: str, entity_id: str, stamps: Mapping[str, tuple[str, str]]
    ) -> None:
        """Replace our stamp of each field by the cloud's (pushed, cloud's), where the
        field still carries the stamp we pushed."""
        model = MODEL_BY_ENTITY[entity]
        with self.db.write(remote_apply=True) as s:
            obj = s.get(model, entity_id)
            if obj is None:
                return
            mine = dict(obj.stamps or {})
            for name, (pushed, theirs) in stamps.items():
                if name in mine and mine[name][0] == pushed:
                    mine[name] = [theirs, mine[name][1]]
            obj.stamps = mine

    # Pull -----------------------------------------------------------------------------
    def pull_cursor(self) -> int:
        with self.db.read() as s:
            return int(s.execute(select(SyncState.pull_cursor)).scalar_one())

    def apply_remote(self, changes: list[Mapping[str, Any]], cursor: int) -> ApplyReport:
        """Apply one page of pulled changes and store the cursor, atomically."""
        applied = conflicts = 0
        found_at = utc_now_text()
        with self.db.write(remote_apply=True) as s:
            any_open = (
                s.execute(
                    select(ConflictRecord.key).where(ConflictRecord.resolved_at.is_(None)).limit(1)
                ).first()
                is not None
            )
            state = s.get(SyncState, 1)
            assert state is not None
            clock = Clock(
                state.node_id, Timestamp.parse(state.last_hlc) if state.last_hlc else None
            )
            rows = _preload(s, changes)
            for change in changes:
                model = MODEL_BY_ENTITY.get(str(change.get("entity")))
                if model is None:
                    continue  # a kind this program does not keep (yet)
                spec = ENTITIES[model.__entity__].fields
                incoming = {
                    name: FieldState(f["value"], f["hlc"], f.get("base"))
                    for name, f in change["fields"].items()
                    if name in spec
                }
                if not incoming:
                    continue
                obj: Synced | None = rows.get(change["entity_id"])
                current = (
                    {}
                    if obj is None
                    else {
                        name: FieldState(getattr(obj, name), stamp[0], stamp[1])
                        for name, stamp in (obj.stamps or {}).items()
                    }
                )
                result = merge_fields(current, incoming)
                clock.observe(Timestamp.parse(max(fs.hlc for fs in incoming.values())))
                if obj is None:
                    obj = model(id=change["entity_id"], stamps={})
                    for name in spec:
                        if spec[name].nullable is False and name not in result.applied:
                            setattr(obj, name, _PLACEHOLDER.get(name, False))
                    s.add(obj)
                    rows[obj.id] = obj
                if result.applied:
                    stamps = dict(obj.stamps or {})
                    for name, fs in result.applied.items():
                        setattr(obj, name, fs.value)
                        stamps[name] = [fs.hlc, fs.base]
                    obj.stamps = stamps
                    applied += 1
                    if any_open:
                        _settle(s, model.__entity__, obj.id, result.applied, found_at)
                for c in result.conflicts:
                    key = c.key(model.__entity__, obj.id)
                    if s.get(ConflictRecord, key) is None:
                        s.add(
                            ConflictRecord(
                                key=key,
                                entity=model.__entity__,
                                entity_id=obj.id,
                                field=c.field,
                                winner_value=c.winner.value,
                                winner_hlc=c.winner.hlc,
                                loser_value=c.loser.value,
                                loser_hlc=c.loser.hlc,
                                found_at=found_at,
                            )
                        )
                        conflicts += 1
            s.flush()
            state.last_hlc = str(clock.last)
            state.pull_cursor = cursor
            if applied:
                state.remote_version += 1
        return ApplyReport(applied, conflicts, cursor)


def _preload(s: Any, changes: list[Mapping[str, Any]]) -> dict[str, Synced]:
    """The rows a page touches, read in a few queries instead of one per change (and
    kept here, since rows created earlier in the page are not yet in the database)."""
    wanted: dict[str, set[str]] = {}
    for change in changes:
        if change.get("entity") in MODEL_BY_ENTITY:
            wanted.setdefault(str(change["entity"]), set()).add(str(change["entity_id"]))
    found: dict[str, Synced] = {}
    for entity, ids in wanted.items():
        model = MODEL_BY_ENTITY[entity]
        listed = sorted(ids)
        for i in range(0, len(listed), 500):
            for obj in s.scalars(select(model).where(model.id.in_(listed[i : i + 500]))):
                found[obj.id] = obj
    return found


def add_conflicts(db: Database, conflicts: list[Mapping[str, Any]], cursor: int) -> int:
    """Conflicts the cloud found (between writes this PC may never see) join the inbox,
    with the cursor, in one transaction. The same conflict found here too has the same
    key and is kept once."""
    from app.store.models import Setting

    added = 0
    now = utc_now_text()
    with db.write() as s:
        for c in conflicts:
            if c["entity"] not in MODEL_BY_ENTITY or s.get(ConflictRecord, c["key"]):
                continue
            s.add(
                ConflictRecord(
                    key=c["key"],
                    entity=c["entity"],
                    entity_id=c["entity_id"],
                    field=c["field"],
                    winner_value=c["winner"]["value"],
                    winner_hlc=c["winner"]["hlc"],
                    loser_value=c["loser"]["value"],
                    loser_hlc=c["loser"]["hlc"],
                    found_at=now,
                )
            )
            added += 1
        row = s.get(Setting, "conflicts_cursor")
        if row is None:
            s.add(Setting(key="conflicts_cursor", value=cursor))
        else:
            row.value = cursor
    return added


def _settle(
    s: Any, entity: str, entity_id: str, applied: Mapping[str, FieldState], now: str
) -> None:
    """A change made after seeing a conflict's winner settles that conflict here too
    (it is how a choice made in another PC's conflict inbox arrives)."""
    for c in s.scalars(
        select(ConflictRecord).where(
            ConflictRecord.entity_id == entity_id,
            ConflictRecord.entity == entity,
            ConflictRecord.resolved_at.is_(None),
        )
    ):
        fs = applied.get(c.field)
        if fs is not None and fs.base is not None and fs.base >= c.winner_hlc:
            c.resolved_at = now
            c.resolution = "elsewhere"


def versions(db: Database, entity: str, start: str = "", end: str = "") -> list[tuple[str, str]]:
    """(id, version) of this replica's rows of `entity` with start <= id < end, where a
    row's version is its greatest field stamp (app.core.reconcile)."""
    from app.core.reconcile import row_version

    model = MODEL_BY_ENTITY[entity]
    stmt = select(model.id, model.stamps)
    if start:
        stmt = stmt.where(model.id >= start)
    if end:
        stmt = stmt.where(model.id < end)
    with db.read() as s:
        return [
            (i, row_version([v[0] for v in (stamps or {}).values()]))
            for i, stamps in s.execute(stmt)
        ]


def queue_rows(db: Database, entity: str, ids: Iterable[str]) -> int:
    """Queue these rows whole, with their stamps (to repair what the cloud lacks)."""
    return _queue(db, MODEL_BY_ENTITY[entity], list(ids))


def queue_everything(db: Database, batch: int = 500) -> int:
    """ "Update all patient data now": queue every synced row whole, with the stamps it
    has (the cloud treats a value it already holds as a replay). Batched, so a large
    database never holds one huge transaction; running it twice is harmless."""
    from app.store.models import SYNCED_MODELS

    queued = 0
    for model in SYNCED_MODELS:
        after = ""
        while True:
            with db.read() as s:
                ids = list(
                    s.scalars(
                        select(model.id).where(model.id > after).order_by(model.id).limit(batch)
                    )
                )
            if not ids:
                break
            queued += _queue(db, model, ids)
            after = ids[-1]
    return queued


def _queue(db: Database, model: type[Synced], ids: list[str]) -> int:
    from app.core.ids import new_id
    from app.core.wire import Mutation

    spec = ENTITIES[model.__entity__].fields
    queued = 0
    now = utc_now_text()
    for i in range(0, len(ids), 500):
        with db.write() as s:
            node = s.execute(select(SyncState.node_id)).scalar_one()
            for obj in s.scalars(select(model).where(model.id.in_(ids[i : i + 500]))):
                stamps = obj.stamps or {}
                names = [n for n in spec if n in stamps]
                if not names:
                    continue
                m = Mutation(
                    id=new_id(),
                    entity=model.__entity__,
                    entity_id=obj.id,
                    node=node,
                    fields={n: getattr(obj, n) for n in names},
                    hlc={n: stamps[n][0] for n in names},
                    base={n: stamps[n][1] for n in names},
                )
                s.add(
                    OutboxMutation(
                        mutation_id=m.id,
                        entity=m.entity,
                        entity_id=m.entity_id,
                        patient_id=patient_of(obj, s),
                        payload=m.to_wire(),
                        created_at=now,
                    )
                )
                queued += 1
    return queued
