"""Queue synced rows whole, with the stamps they have: "Update all patient data now"
(queue_everything) and the repair of what the cloud lacks (queue_rows).

Nothing is stamped anew, so this does not go through the flush hook's stamping. Each
row gets an outbox row of its own (its mutation id, patient, place in the queue: counted,
listed, acknowledged and failed like any change), whose payload only says "the whole
row": its values and stamps are read when it is sent (`payload_sql`, used by
SyncRepo.outbox_batch), as the mutation `Mutation.to_wire()` makes of them (tests
compare the two for every kind of record). "Update all" queues every row of a practice,
600,000 for a large one: a copy of each row's payload (about 1 KB) written into the
outbox, encrypted, read back and deleted took most of its time, and a re-send of the
current state needs no copy of it. An edit made after the queueing goes up as its own
change too; the whole row sent before or after it carries the same values and stamps,
which the cloud takes as a replay. The rows are written by SQLite itself, one INSERT ...
SELECT per table.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import Connection, select

from app.core.ids import uuid7
from app.core.wire import ENTITIES
from app.store.base import table_of
from app.store.db import Database
from app.store.models import MODEL_BY_ENTITY, SYNCED_MODELS, Agreement, Patient, Synced, SyncState
from app.store.sync.outbox import utc_now_text

_IDS_AT_ONCE = 5000  # ids named in one statement by queue_rows


def queue_everything(db: Database) -> int:
    """ "Update all patient data now": queue every synced row whole, with the stamps it
    has (the cloud treats a value it already holds as a replay). One transaction: a
    crash or an error queues all of it or nothing; running it twice is harmless."""
    with db.write() as s:
        conn = s.connection()
        return sum(_queue_table(conn, model) for model in SYNCED_MODELS)


def queue_rows(db: Database, entity: str, ids: Iterable[str]) -> int:
    """Queue these rows whole, with their stamps (to repair what the cloud lacks)."""
    model = MODEL_BY_ENTITY[entity]
    ids = list(ids)
    queued = 0
    for i in range(0, len(ids), _IDS_AT_ONCE):
        with db.write() as s:
            queued += _queue_table(s.connection(), model, ids[i : i + _IDS_AT_ONCE])
    return queued


def _queue_table(conn: Connection, model: type[Synced], ids: list[str] | None = None) -> int:
    """Queue the rows of `model` (those of `ids`, or all) that have stamps."""
    node = conn.execute(select(SyncState.node_id)).scalar_one()
    name = table_of(model).name
    where = ""
    params: tuple[str, ...] = ()
    if ids is not None:
        where, params = f"AND t.id IN ({', '.join('?' * len(ids))})", tuple(ids)
    last = conn.exec_driver_sql(f"SELECT max(t.rowid) FROM {name} t WHERE 1 {where}",
                                params).scalar()
    if last is None:
        return 0
    # The mutation id of a row is the first reserved id plus the row's rowid: unique,
    # and counted in C. Ids of rowids not queued are gaps, which cost nothing.
    first = uuid7.reserve(last + 1)
    h = f"{first:032x}"
    result = conn.exec_driver_sql(
        _insert_sql(model.__entity__).replace("%WHERE%", where),
        (f"{h[:8]}-{h[8:12]}-{h[12:16]}-", _signed(first & _LOW_64), node, utc_now_text(),
         *params),
    )
    return int(result.rowcount)


_LOW_64 = (1 << 64) - 1


def _signed(value: int) -> int:
    """A 64-bit pattern as SQLite's signed integer."""
    return value - (1 << 64) if value >= 1 << 63 else value


@cache
def _insert_sql(entity: str) -> str:
    """INSERT ... SELECT writing one outbox row, whose payload says "the whole row", for
    each row of `entity` with stamps; parameters: the first mutation id's text up to its
    fourth group, its low 64 bits (signed), the node and the time queued, then those of
    the condition put in place of %WHERE%."""
    model = MODEL_BY_ENTITY[entity]
    table = table_of(model)
    low = "(?2 + t.rowid)"
    mid = f"?1 || printf('%04x-%012x', ({low} >> 48) & 65535, {low} & 281474976710655)"
    if model is Patient:
        patient = "t.id"
    elif "agreement_id" in table.c:
        agreements = table_of(Agreement).name
        patient = (f"coalesce(t.patient_id, (SELECT a.patient_id FROM {agreements} a "
                   "WHERE a.id = t.agreement_id))")
    elif "patient_id" in table.c:
        patient = "t.patient_id"
    else:
        patient = "NULL"
    return (
        "INSERT INTO outbox (mutation_id, entity, entity_id, patient_id, payload, "
        "created_at, attempts, status) "
        f"SELECT {mid}, '{model.__entity__}', t.id, {patient}, "
        f"json_object('{WHOLE}', json('true'), 'node', ?3), ?4, 0, 'pending' "
        f"FROM {table.name} t WHERE t.stamps IS NOT NULL AND t.stamps NOT IN ('{{}}', 'null') "
        "%WHERE%"
    )


WHOLE = "whole"  # the payload key of a row queued whole: {"whole": true, "node": ...}
_WHOLE_PREFIX = f'{{"{WHOLE}":'


def is_whole(payload: dict[str, object]) -> bool:
    """Whether an outbox payload stands for its whole row, read when it is sent."""
    return bool(payload.get(WHOLE))


@cache
def payload_sql(shared_hlc: bool = False) -> str:
    """The SQL expression of an outbox row's payload text as sent (the row `o`): its
    payload, or for a row queued whole, the mutation its record's current values and
    stamps make, with the outbox row's mutation id and node: what `Mutation.to_wire()`
    gives for them. The record's stamped fields of the wire schema are read from its
    stamps in one pass (json_each). A record gone or without one makes no fields,
    which the cloud refuses: the row is then marked failed, as any refused change.

    With `shared_hlc` (for a cloud that takes it: app.core.wire.SHARED_HLC), a record
    whose fields share one stamp and have no base (nearly every one of a first upload)
    is sent with that stamp once as "hlc" and an empty "base"."""
    branches = []
    for model in SYNCED_MODELS:
        entity = model.__entity__
        spec = ENTITIES[entity].fields
        names = ", ".join(repr(n) for n in spec)
        cases = " ".join(f"WHEN '{n}' THEN {_wire_value(n, spec[n].kind)}" for n in spec)
        hlc, bases = _stamps_sql("j"), _stamps_sql("j", "$[1]")
        if shared_hlc:
            # Each field's [stamp, base] as text: all alike and without a base, the row
            # shares one stamp. Only another row reads its stamps one by one again.
            shared = "min(j.value) = max(j.value) AND max(j.value) LIKE '%null]'"
            each = f"FROM json_each(t.stamps) k WHERE k.key IN ({names})"
            hlc = (f"CASE WHEN {shared} THEN json_quote(min(j.value) ->> '$[0]') "
                   f"ELSE (SELECT {_stamps_sql('k')} {each}) END")
            bases = (f"CASE WHEN {shared} THEN json('{{}}') "
                     f"ELSE (SELECT {_stamps_sql('k', '$[1]')} {each}) END")
        branches.append(
            f"WHEN '{entity}' THEN (SELECT json_object('id', o.mutation_id, 'entity', "
            f"'{entity}', 'entity_id', o.entity_id, 'node', o.payload ->> '$.node', "
            f"'fields', json_group_object(j.key, CASE j.key {cases} END), "
            f"'hlc', {hlc}, 'base', {bases}) "
            f"FROM {table_of(model).name} t, json_each(t.stamps) j "
            f"WHERE t.id = o.entity_id AND j.key IN ({names}))"
        )
    return (f"CASE WHEN substr(o.payload, 1, {len(_WHOLE_PREFIX)}) = '{_WHOLE_PREFIX}' "
            f"THEN CASE o.entity {' '.join(branches)} END ELSE o.payload END")


def _stamps_sql(each: str, part: str = "$[0]") -> str:
    """{field: stamp} (or base, part $[1]) of the stamps read by json_each `each`."""
    return f"json_group_object({each}.key, {each}.value ->> '{part}')"


def _wire_value(name: str, kind: str) -> str:
    """The column as its wire value: SQLite keeps booleans as 0 and 1."""
    col = f"t.{name}"
    if kind == "bool":
        return f"json(CASE WHEN {col} IS NULL THEN 'null' WHEN {col} THEN 'true' ELSE 'false' END)"
    return col
