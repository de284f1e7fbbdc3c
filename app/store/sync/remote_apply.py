"""Applying one page of pulled changes with a few bulk statements.

The rows a page touches are read with one query per table, merged in memory with the
same per-field rule as the cloud (app.core.merge), and written back with one
executemany per table and kind (insert, update). The statements run on the session's
connection, below the ORM and its flush hooks: these changes came from elsewhere and
must not be queued for upload again. A patient's number, derived columns and search
index are kept by the same functions the flush hook calls for a local edit
(app.store.patients.search_index), applied here to the rows as dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from app.core.hlc import Clock, Timestamp
from app.core.merge import Conflict, FieldState, merge_fields
from app.core.wire import ENTITIES, FieldSpec, normal_value
from app.store.models import MODEL_BY_ENTITY, SYNCED_MODELS, ConflictRecord, Patient
from app.store.patients import search_index
from app.store.sync import unapplied_repo

# Values a new row needs before its first fields arrive (a NOT NULL column whose
# creation change has not been seen here: never expected, but never a stuck pull).
_PLACEHOLDER = {
    "first_name": "",
    "visit_date": "1970-01-01",
    "starts_at": "1970-01-01T00:00:00+00:00",
    "paid_on": "1970-01-01",
    "amount": "0.00",
    "total": "0.00",
    "discount": "0.00",
    "tax": "0.00",
    "duration_minutes": 30,
    "position": 0,
    "name": "",  # a chair's; visits' names may be empty anyway
    # A user whose creation was not seen: nobody can sign in as him (no hash matches).
    "username": "",
    "display_name": "",
    "role": "member",
    "password_hash": "",
}
_CHUNK = 500  # ids in one IN (...) list, well below SQLite's bound-parameter limit

Key = tuple[str, str]  # (entity, id)
_CONFLICTS = cast(Table, ConflictRecord.__table__)


@dataclass(slots=True)
class _Row:
    values: dict[str, Any]  # column name -> value, as stored
    new: bool
    changed: bool = False


def apply_page(
    conn: Connection, changes: list[Mapping[str, Any]], clock: Clock, found_at: str
) -> tuple[int, int]:
    """Merge `changes` into the rows they name, inside the caller's transaction;
    returns (changes that set a field, conflicts added to the inbox). `clock` observes
    every change's stamp. A change that can not be applied is set aside
    (app.store.sync.unapplied_repo) and the rest of the page applies."""
    changes, aside = unapplied_repo.split(changes)
    unapplied_repo.set_aside(conn, aside, found_at)
    rows = _preload(conn, changes)
    inbox = _Inbox.load(conn, rows)
    applied = 0
    for change in changes:
        entity = str(change.get("entity"))
        if entity not in MODEL_BY_ENTITY:
            continue  # a kind this program does not keep (yet)
        spec = ENTITIES[entity].fields
        fields = {n: _normal(spec[n], f) for n, f in change["fields"].items() if n in spec}
        if not fields:
            continue
        entity_id = str(change["entity_id"])
        clock.observe(Timestamp.parse(max(f["hlc"] for f in fields.values())))
        row = rows.get((entity, entity_id))
        if row is None and not inbox.any_open:
            # A row new here takes every field as it comes (what merging into nothing
            # gives), and no open conflict can be settled by it: most of a first pull.
            values = _fresh(entity, entity_id, spec, fields)
            values.update((n, f["value"]) for n, f in fields.items())
            values["stamps"] = {n: [f["hlc"], f.get("base")] for n, f in fields.items()}
            rows[(entity, entity_id)] = _Row(values, new=True, changed=True)
            applied += 1
            continue
        incoming = {n: FieldState(f["value"], f["hlc"], f.get("base")) for n, f in fields.items()}
        current = (
            {}
            if row is None
            else {
                name: FieldState(row.values[name], stamp[0], stamp[1])
                for name, stamp in (row.values["stamps"] or {}).items()
            }
        )
        result = merge_fields(current, incoming)
        if row is None:
            row = _Row(_fresh(entity, entity_id, spec, result.applied), new=True)
            rows[(entity, entity_id)] = row
        if result.applied:
            stamps = dict(row.values["stamps"] or {})
            for name, fs in result.applied.items():
                row.values[name] = fs.value
                stamps[name] = [fs.hlc, fs.base]
            row.values["stamps"] = stamps
            row.changed = True
            applied += 1
            inbox.settle((entity, entity_id), result.applied, found_at)
        for c in result.conflicts:
            inbox.add(conn, entity, entity_id, c, found_at)
    _write(conn, rows)
    inbox.write(conn)
    return applied, inbox.added


def _table(entity: str) -> Table:
    return cast(Table, MODEL_BY_ENTITY[entity].__table__)  # type: ignore[attr-defined]


def _preload(conn: Connection, changes: list[Mapping[str, Any]]) -> dict[Key, _Row]:
    """The stored rows a page touches, a few queries instead of one per change."""
    wanted: dict[str, set[str]] = {}
    for change in changes:
        if change.get("entity") in MODEL_BY_ENTITY:
            wanted.setdefault(str(change["entity"]), set()).add(str(change["entity_id"]))
    found: dict[Key, _Row] = {}
    for entity, ids in wanted.items():
        table = _table(entity)
        listed = sorted(ids)
        for i in range(0, len(listed), _CHUNK):
            stmt = select(table).where(table.c.id.in_(listed[i : i + _CHUNK]))
            for r in conn.execute(stmt).mappings():
                found[(entity, r["id"])] = _Row(dict(r), new=False)
    return found


def _fresh(
    entity: str, entity_id: str, spec: Mapping[str, FieldSpec], applied: Mapping[str, Any]
) -> dict[str, Any]:
    """A new row's columns before its fields are set: what an insert would default."""
    values = dict(_defaults(entity))
    values["id"] = entity_id
    values["stamps"] = {}
    for name, fspec in spec.items():
        if fspec.nullable is False and name not in applied:
            values[name] = _PLACEHOLDER.get(name, False)
    return values


@cache
def _defaults(entity: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in _table(entity).columns:
        default = column.default
        scalar = default is not None and default.is_scalar
        values[column.name] = default.arg if scalar else None  # type: ignore[union-attr]
    return values


def _write(conn: Connection, rows: dict[Key, _Row]) -> None:
    by_entity: dict[str, list[_Row]] = {}
    for (entity, _id), row in rows.items():
        if row.new or row.changed:
            by_entity.setdefault(entity, []).append(row)
    # Parents before children (the tables' foreign keys), as the ORM would order them.
    for model in SYNCED_MODELS:
        touched = by_entity.get(model.__entity__)
        if not touched:
            continue
        table = _table(model.__entity__)
        new = [r.values for r in touched if r.new]
        old = [r.values for r in touched if not r.new]
        if model is Patient:
            for values, num in zip(new, search_index.new_numbers(conn, len(new)), strict=True):
                values["num"] = num
            for values in new + old:
                values.update(search_index.derived(values))
        if new:
            conn.execute(insert(table), new)
        if old:
            names = [*ENTITIES[model.__entity__].fields, "stamps"]
            if model is Patient:
                names += search_index.DERIVED
            stmt = update(table).where(table.c.id == bindparam("row_id"))
            conn.execute(stmt, [{"row_id": v["id"], **{n: v[n] for n in names}} for v in old])
        if model is Patient:
            search_index.reindex(conn, old)
            search_index.index_new(conn, new)


@dataclass
class _Inbox:
    """The conflict inbox as a page sees it: conflicts it adds, and the open ones a
    change made after seeing their winner settles."""

    any_open: bool
    open: dict[Key, list[dict[str, Any]]]
    new: dict[str, dict[str, Any]] = field(default_factory=dict)
    settled: list[dict[str, Any]] = field(default_factory=list)

    @property
    def added(self) -> int:
        return len(self.new)

    @classmethod
    def load(cls, conn: Connection, rows: Mapping[Key, _Row]) -> _Inbox:
        t = _CONFLICTS
        unresolved = t.c.resolved_at.is_(None)
        any_open = conn.execute(select(t.c.key).where(unresolved).limit(1)).first() is not None
        open_: dict[Key, list[dict[str, Any]]] = {}
        if any_open:
            ids = sorted({i for _e, i in rows})
            cols = (t.c.key, t.c.entity, t.c.entity_id, t.c.field, t.c.winner_hlc)
            for i in range(0, len(ids), _CHUNK):
                stmt = select(*cols).where(unresolved, t.c.entity_id.in_(ids[i : i + _CHUNK]))
                for r in conn.execute(stmt).mappings():
                    open_.setdefault((r["entity"], r["entity_id"]), []).append(dict(r))
        return cls(any_open, open_)

    def settle(self, key: Key, applied: Mapping[str, FieldState], now: str) -> None:
        """A change made after seeing a conflict's winner settles that conflict here
        too (it is how a choice made in another PC's conflict inbox arrives)."""
        if not self.any_open:
            return
        for c in self.open.get(key, ()):
            fs = applied.get(c["field"])
            if c.get("resolved_at") or fs is None or fs.base is None:
                continue
            if fs.base >= c["winner_hlc"]:
                c["resolved_at"] = now
                c["resolution"] = "elsewhere"
                if c["key"] not in self.new:
                    self.settled.append(c)

    def add(self, conn: Connection, entity: str, entity_id: str, c: Conflict, now: str) -> None:
        """Keep a conflict once: the same one found again (here or on another replica)
        has the same key."""
        key = c.key(entity, entity_id)
        t = _CONFLICTS
        if key in self.new or conn.execute(select(t.c.key).where(t.c.key == key)).first():
            return
        record = {
            "key": key, "entity": entity, "entity_id": entity_id, "field": c.field,
            "winner_value": c.winner.value, "winner_hlc": c.winner.hlc,
            "loser_value": c.loser.value, "loser_hlc": c.loser.hlc,
            "found_at": now, "resolved_at": None, "resolution": None,
        }
        self.new[key] = record
        if self.any_open:
            self.open.setdefault((entity, entity_id), []).append(record)

    def write(self, conn: Connection) -> None:
        t = _CONFLICTS
        if self.new:
            conn.execute(insert(t), list(self.new.values()))
        if self.settled:
            stmt = update(t).where(t.c.key == bindparam("conflict_key"))
            conn.execute(stmt, [
                {"conflict_key": c["key"], "resolved_at": c["resolved_at"],
                 "resolution": c["resolution"]}
                for c in self.settled
            ])


def _normal(spec: FieldSpec, f: Mapping[str, Any]) -> Mapping[str, Any]:
    """A pulled field with its value in today's form (money stored by the cloud as minor
    units before decimal text)."""
    value = normal_value(spec, f["value"])
    return f if value is f["value"] else {**f, "value": value}
