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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import ColumnDefault, Connection, Table, bindparam, update

from app.core.compact import SHARED, VALUES, expanded
from app.core.hlc import Clock, Timestamp
from app.core.merge import FieldState, merge_fields
from app.core.wire import ENTITIES, FieldSpec, normal_value
from app.platform.bulk_insert import insert_many
from app.store.base import table_of
from app.store.models import MODEL_BY_ENTITY, SYNCED_MODELS, Patient
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
_INDEXED = frozenset(search_index.INDEXED)
# The money fields of each entity: the only values a pulled change may bring in an older
# form (see _normal).
_MONEY = {name: frozenset(n for n, f in e.fields.items() if f.kind == "money")
          for name, e in ENTITIES.items()}

Key = tuple[str, str]  # (entity, id)


@dataclass(slots=True)
class _Row:
    values: dict[str, Any]  # column name -> value, as stored
    new: bool
    changed: bool = False
    # A field the search index is made from changed: most pulled edits (a note, an
    # allergy) leave a patient's index rows as they are, and rewriting them costs
    # a delete and tens of inserts a patient.
    indexed: bool = False
    # A stored patient's indexed values before this page changed them: his old index
    # rows are found by the keys made of them.
    stored: dict[str, Any] | None = None


def apply_page(  # noqa: C901, PLR0912, PLR0915
    conn: Connection, changes: Sequence[Mapping[str, Any]], clock: Clock, found_at: str,
    kinds: set[str] | None = None, *, defer_index: bool = False,
    aside: Sequence[tuple[Any, str]] | None = None,
) -> int:
    """Merge `changes` into the rows they name, inside the caller's transaction;
    returns how many changes set a field, and adds the entity of each to `kinds`.
    `clock` observes every change's stamp. With `defer_index`, a page that brings many
    new patients leaves their search index to search_index.build_pending. A
    change that can not be applied is set aside (app.store.sync.unapplied_repo) and
    the rest of the page applies; `aside` says the caller screened them already
    (unapplied_repo.split) and holds those that can not be applied.

    A pulled write that loses here, or wins over one it did not see, is a conflict the
    cloud found already when it merged the same two writes: the conflict list is the
    cloud's, copied by sync_repo.copy_conflicts, and nothing is recorded here."""
    if aside is None:
        changes, aside = unapplied_repo.split(changes)
    unapplied_repo.set_aside(conn, aside, found_at)
    rows = _preload(conn, changes)
    applied = 0
    latest = ""  # the page's latest stamp: the clock observes it once
    for change in changes:
        entity = str(change.get("entity"))
        if entity not in MODEL_BY_ENTITY:
            continue  # a kind this program does not keep (yet)
        spec = ENTITIES[entity].fields
        entity_id = str(change["entity_id"])
        row = rows.get((entity, entity_id))
        sent = change["fields"]
        if row is None:
            # A row new here takes every field as it comes (what merging into nothing
            # gives): most of a first pull, so one pass over its fields.
            values = _fresh(entity, entity_id)
            stamps = values["stamps"]
            shared = sent.get(SHARED)
            if shared is not None:
                # The compact form of a creation (app.core.compact): one stamp, no base.
                for n, v in sent[VALUES].items():
                    if n in spec:
                        values[n] = v
                        stamps[n] = [shared, None]
                if stamps and shared > latest:
                    latest = shared
            else:
                for n, f in sent.items():
                    if n in spec:
                        hlc = f["hlc"]
                        values[n] = f["value"]
                        stamps[n] = [hlc, f.get("base")]
                        # Stamps are text that orders as the time it holds (app.core.merge
                        # compares them so): the greatest text is the latest stamp.
                        if hlc > latest:
                            latest = hlc
            if not stamps:
                continue
            for name in _MONEY[entity].intersection(stamps):
                values[name] = normal_value(spec[name], values[name])
            rows[(entity, entity_id)] = _Row(values, new=True, changed=True)
            applied += 1
            if kinds is not None:
                kinds.add(entity)
            continue
        if SHARED in sent:
            sent = expanded(sent)
        fields = {n: f for n, f in sent.items() if n in spec}
        if not fields:
            continue
        for name in _MONEY[entity].intersection(fields):
            fields[name] = _normal(spec[name], fields[name])
        latest = max(latest, max(f["hlc"] for f in fields.values()))
        incoming = {n: FieldState(f["value"], f["hlc"], f.get("base")) for n, f in fields.items()}
        # Only the fields that come in: merge_fields looks at nothing else, and a row has
        # dozens of stamped fields where a change brings one or two.
        held = row.values["stamps"] or {}
        current = {
            name: FieldState(row.values[name], stamp[0], stamp[1])
            for name in fields if (stamp := held.get(name)) is not None
        }
        result = merge_fields(current, incoming)
        if result.applied:
            if row.stored is None and entity == "patient":
                row.stored = {n: row.values[n] for n in _INDEXED}
            stamps = dict(row.values["stamps"] or {})
            for name, fs in result.applied.items():
                row.values[name] = fs.value
                stamps[name] = [fs.hlc, fs.base]
            row.values["stamps"] = stamps
            row.changed = True
            row.indexed = row.indexed or not _INDEXED.isdisjoint(result.applied)
            applied += 1
            if kinds is not None:
                kinds.add(entity)
    if latest:
        clock.observe(Timestamp.parse(latest))
    _write(conn, rows, defer_index)
    return applied


def _table(entity: str) -> Table:
    return table_of(MODEL_BY_ENTITY[entity])


def _preload(conn: Connection, changes: Sequence[Mapping[str, Any]]) -> dict[Key, _Row]:
    """The stored rows a page touches, one query a kind of record."""
    wanted: dict[str, list[str]] = {}
    for change in changes:
        entity = change.get("entity")
        if entity in MODEL_BY_ENTITY:
            wanted.setdefault(str(entity), []).append(str(change["entity_id"]))
    found: dict[Key, _Row] = {}
    cursor = conn.connection.cursor()
    try:
        for entity, ids in wanted.items():
            sql, names, processors = _reader(conn, entity)
            # The ids as one JSON array (SQLite's json_each): straight to the driver, one
            # statement for a page's tens of thousands of ids, most of them new here.
            for row in cursor.execute(sql, (orjson.dumps(ids).decode(),)):
                values = {n: v if p is None else p(v)
                          for n, v, p in zip(names, row, processors, strict=True)}
                found[(entity, values["id"])] = _Row(values, new=False)
    finally:
        cursor.close()
    return found


_READERS: dict[str, tuple[str, list[str], list[Callable[[Any], Any] | None]]] = {}


def _reader(conn: Connection, entity: str,
            ) -> tuple[str, list[str], list[Callable[[Any], Any] | None]]:
    """The query of `entity`'s rows by a JSON array of ids, its columns, and the result
    processing SQLAlchemy gives each (JSON text to dicts, 0/1 to bools, ...)."""
    found = _READERS.get(entity)
    if found is None:
        table = _table(entity)
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        names = [c.name for c in table.columns]
        processors: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in table.columns
        ]
        sql = (f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(table.name)} "
               "WHERE id IN (SELECT value FROM json_each(?))")
        found = _READERS[entity] = (sql, names, processors)
    return found


def _fresh(entity: str, entity_id: str) -> dict[str, Any]:
    """A new row's columns before its fields are set: what an insert would default, and
    a placeholder in each required column (replaced by the fields that come)."""
    values = dict(_template(entity))
    values["id"] = entity_id
    values["stamps"] = {}
    return values


@cache
def _template(entity: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in _table(entity).columns:
        default = column.default
        values[column.name] = (
            default.arg if isinstance(default, ColumnDefault) and default.is_scalar else None
        )
    for name, fspec in ENTITIES[entity].fields.items():
        if fspec.nullable is False:
            values[name] = _PLACEHOLDER.get(name, False)
    return values


def _write(conn: Connection, rows: dict[Key, _Row], defer_index: bool = False) -> None:  # noqa: C901, PLR0912
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
            # Straight to the driver (app.platform.bulk_insert): a first pull inserts
            # hundreds of thousands of rows.
            columns = [c.name for c in table.columns]
            insert_many(conn, table, columns, map(itemgetter(*columns), new))
        if old:
            names = [*ENTITIES[model.__entity__].fields, "stamps"]
            if model is Patient:
                names += search_index.DERIVED
            stmt = update(table).where(table.c.id == bindparam("row_id"))
            conn.execute(stmt, [{"row_id": v["id"], **{n: v[n] for n in names}} for v in old])
        if model is Patient:
            search_index.reindex(conn, [(r.stored, r.values) for r in touched
                                        if not r.new and r.indexed and r.stored is not None])
            if defer_index and len(new) >= search_index.DEFER_AT:
                # A first pull, or a PC back after long: indexed once at the pull's end.
                search_index.defer(conn, new[0]["num"])
            else:
                search_index.index_new(conn, new)


def _normal(spec: FieldSpec, f: Mapping[str, Any]) -> Mapping[str, Any]:
    """A pulled field with its value in today's form (money stored by the cloud as minor
    units before decimal text)."""
    value = normal_value(spec, f["value"])
    return f if value is f["value"] else {**f, "value": value}
