"""The outbox: every local change to synced data queues its mutation in the same
transaction.

A flush hook on WriteSession stamps each changed field and queues the change, so no
code path that writes through the store can change synced data without queueing it.
Bulk UPDATE/DELETE statements on synced tables are refused, since they skip the flush,
and hard deletes are refused: rows are tombstoned (deleted = True), which is a change.
`outbox_row` builds the outbox row of each change, which `enqueue` adds in the flush.
"Update all" and the repair of what the cloud lacks queue rows whole, to be read when
sent (app.store.sync.requeue_repo). Sessions opened with remote_apply=True (stamps
adopted from the cloud) change rows without queueing anything.

A patient's local number, derived columns and search index are kept by the functions
of app.store.patients.search_index, which the bulk apply of pulled changes
(app.store.sync.remote_apply) calls too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnDefault, event, select, text
from sqlalchemy.orm import ORMExecuteState, Session, attributes

from app.core.hlc import Clock, Timestamp
from app.core.ids import new_id
from app.core.wire import ENTITIES, Mutation, validate
from app.store.base import table_of
from app.store.db import ReadSession, WriteSession
from app.store.errors import HardDeleteError, StoreError
from app.store.models import SYNCED_MODELS, OutboxMutation, Patient, Synced, SyncState
from app.store.patients import search_index

_SYNCED_TABLES = {table_of(m).name for m in SYNCED_MODELS}


def utc_now_text() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _column_default(obj: Synced, name: str) -> Any:
    default = table_of(type(obj)).c[name].default
    if isinstance(default, ColumnDefault) and default.is_scalar:
        return default.arg
    return None


def _clock(session: Session) -> tuple[Clock, str]:
    """This PC's clock, and its node id."""
    conn = session.connection()
    row = conn.execute(select(SyncState.node_id, SyncState.last_hlc).where(SyncState.id == 1)).one()
    last = Timestamp.parse(row.last_hlc) if row.last_hlc else None
    return Clock(row.node_id, last=last), row.node_id


def patient_of(obj: Synced, session: Session) -> str | None:
    if isinstance(obj, Patient):
        return obj.id
    pid: str | None = getattr(obj, "patient_id", None)
    agreement_id = getattr(obj, "agreement_id", None)
    if pid is None and agreement_id:
        from app.store.models import Agreement

        agreement = session.get(Agreement, agreement_id)
        pid = agreement.patient_id if agreement else None
    return pid


def _changed_fields(session: Session, obj: Synced, is_new: bool) -> dict[str, Any]:
    spec = ENTITIES[obj.__entity__].fields
    changed: dict[str, Any] = {}
    for name in spec:
        if is_new:
            value = getattr(obj, name)
            if value is None:
                value = _column_default(obj, name)
                if value is not None:
                    setattr(obj, name, value)
            changed[name] = value
        elif attributes.get_history(obj, name).has_changes():
            changed[name] = getattr(obj, name)
    return changed


@event.listens_for(WriteSession, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, Synced):
            raise HardDeleteError()
    new = [o for o in session.new if isinstance(o, Synced)]
    dirty = [o for o in session.dirty if isinstance(o, Synced) and session.is_modified(o)]
    if not new and not dirty:
        return
    _prepare_patients(session, new, dirty)
    remote = bool(session.info.get("remote_apply"))
    clock: Clock | None = None
    node = ""
    now_text = utc_now_text()
    # session.new builds a fresh set on every access: look it up once, not per object.
    new_ids = {id(o) for o in new}
    for obj in new + dirty:
        is_new = id(obj) in new_ids
        if obj.id is None:
            obj.id = new_id()
        if remote:
            continue
        changed = _changed_fields(session, obj, is_new)
        if not changed:
            continue
        if clock is None:
            clock, node = _clock(session)
        stamp = str(clock.now())
        stamps = dict(obj.stamps or {})
        base: dict[str, str | None] = {}
        for name in changed:
            prev = stamps.get(name)
            base[name] = prev[0] if prev else None
            stamps[name] = [stamp, base[name]]
        obj.stamps = stamps
        if isinstance(obj, Patient):
            obj.updated_at = now_text
        mutation = Mutation(
            id=new_id(),
            entity=obj.__entity__,
            entity_id=obj.id,
            node=node,
            fields=changed,
            hlc=dict.fromkeys(changed, stamp),
            base=base,
        )
        validate(mutation)  # a change that does not fit the wire schema is refused here
        enqueue(session, obj, mutation, now_text)
    if clock is not None:
        session.connection().execute(
            text("UPDATE sync_state SET last_hlc = :h WHERE id = 1"), {"h": str(clock.last)}
        )


def enqueue(session: Session, obj: Synced, mutation: Mutation, now_text: str) -> None:
    """Queue `mutation` (a change of `obj`) for upload, in the session's transaction."""
    session.add(OutboxMutation(**outbox_row(mutation, patient_of(obj, session), now_text)))


def outbox_row(mutation: Mutation, patient_id: str | None, now_text: str) -> dict[str, Any]:
    """The columns of the outbox row of one change."""
    return {
        "mutation_id": mutation.id,
        "entity": mutation.entity,
        "entity_id": mutation.entity_id,
        "patient_id": patient_id,
        "payload": mutation.to_wire(),
        "created_at": now_text,
        "attempts": 0,
        "status": "pending",
    }


def _prepare_patients(session: Session, new: list[Synced], dirty: list[Synced]) -> None:
    """New patients get their numbers, and every written one its derived columns."""
    # a new patient's num is None until it is given one here, whatever its type says
    patients = [o for o in new if isinstance(o, Patient)]
    unnumbered = [p for p in patients if p.num is None]
    for p, num in zip(
        unnumbered, search_index.new_numbers(session.connection(), len(unnumbered)), strict=True
    ):
        p.num = num
    # Their index rows as stored: found by the keys made of the stored values once the
    # flush has written the new ones.
    ids = [p.id for p in dirty if isinstance(p, Patient) and p.id is not None]
    session.info["stored_patients"] = (
        search_index.stored(session.connection(), ids) if ids else {})
    for o in new + dirty:
        if isinstance(o, Patient):
            for name, value in search_index.derived(search_index.values_of(o)).items():
                setattr(o, name, value)


@event.listens_for(WriteSession, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    stored: dict[str, dict[str, Any]] = session.info.pop("stored_patients", {})
    # New patients are in session.new until the flush ends; a dirty one whose values did
    # not change was not looked up before the flush and keeps its rows.
    new = [o for o in session.new if isinstance(o, Patient)]
    search_index.index_new(session.connection(), [search_index.values_of(p) for p in new])
    changes = [(stored[p.id], search_index.values_of(p))
               for p in session.dirty if isinstance(p, Patient) and p.id in stored]
    search_index.reindex(session.connection(), changes)


@event.listens_for(WriteSession, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        table = getattr(state.bind_mapper, "local_table", None)
        if table is not None and table.name in _SYNCED_TABLES:
            raise StoreError(
                "Synced records must be changed one by one through the session, "
                "so that every change is queued for the cloud."
            )


@event.listens_for(ReadSession, "before_flush")
def _refuse_read_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise StoreError("A read session cannot change data.")
