"""Reading the change log and reconciliation digests (the conflict list: crud.conflicts)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from app.core import compact
from app.core.reconcile import range_digest
from app.core.wire import ENTITIES
from cloud import policy
from cloud.crud import DeviceCtx, Refused, conflicts
from cloud.models import Change, Installation, Record

MAX_PULL = 10_000
CONFLICTS_WITH_CHANGES = 200  # a page of the conflict list, as GET /conflicts gives
RECONCILE_ITEMS_MAX = 1000


def pull(
    session: Session, *, device: DeviceCtx, after: int, limit: int, exclude_own: bool,
    conflicts_after: int | None = None, compact_fields: bool = False,
) -> bytes:
    """Changes of the caller's installation with seq > `after`, oldest first, as the
    JSON body of the reply (schemas.PullOut). With `conflicts_after`, the last page
    carries the first page of the conflict list after that version too, which saves
    the PC a request after every pull.

    Only committed changes are read, and none can commit later with a smaller seq
    (see `cloud.db.write_transaction`), so a cursor never skips a change. Each change's
    fields are sent as the JSON text they were stored as, not decoded and encoded again:
    a creation's in its compact form (app.core.compact) to a PC that asks for it
    (`compact_fields`), field by field to one of an earlier release.
    """
    caller = policy.device(device)
    # Read the counter first: every change up to it has committed with it.
    high = session.execute(
        select(Installation.last_seq).where(policy.synced_rows(caller, Installation.id))
    ).scalar_one()
    q = (
        select(Change.seq, Change.entity, Change.entity_id, cast(Change.fields, Text),
               Change.origin_node, Change.mutation_id)
        .where(policy.synced_rows(caller, Change.installation_id), Change.seq > after,
               Change.seq <= high)
        .order_by(Change.seq)
        .limit(limit + 1)
    )
    if exclude_own:
        q = q.where(Change.origin_node != device.node)
    # Through the connection, not the ORM: a page is ten thousand plain rows, and the
    # ORM's per-row loading work was a third of the cloud's time answering a pull.
    rows = session.connection().execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1][0] if more else max(high, after)
    as_sent = orjson.Fragment if compact_fields else _plain
    out: dict[str, Any] = {
        "changes": [
            {"seq": seq, "entity": entity, "entity_id": entity_id,
             "fields": as_sent(fields), "origin_node": node, "mutation_id": mutation}
            for seq, entity, entity_id, fields, node, mutation in rows
        ],
        "cursor": cursor,
        "more": more,
    }
    if conflicts_after is not None and not more:
        out["conflict_list"] = conflicts.list_conflicts(
            session, caller=caller, after=conflicts_after, limit=CONFLICTS_WITH_CHANGES,
            include_resolved=True)
    return orjson.dumps(out)


def _plain(stored: str) -> Any:
    """A change's stored fields, field by field: only a change that holds the compact
    form's key is decoded (a value may hold the same text: that change is sent as it is)."""
    if compact.SHARED in stored:
        fields = orjson.loads(stored)
        if compact.is_compact(fields):
            return compact.expanded(fields)
    return orjson.Fragment(stored)


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise Refused(404, f"unknown entity: {entity[:40]!r}")
    return entity


def reconcile_summary(session: Session, *, caller: policy.Principal) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entity in ENTITIES:
        out[entity] = reconcile_range(session, caller=caller, entity=entity)
    return out


def reconcile_range(
    session: Session, *, caller: policy.Principal, entity: str, start: str = "", end: str = "",
    items: bool = False,
) -> dict[str, Any]:
    """Count and digest (app.core.reconcile) of `entity` rows with start <= id < end."""
    q = select(Record.entity_id, Record.max_hlc).where(
        policy.synced_rows(caller, Record.installation_id), Record.entity == _entity(entity)
    )
    if start:
        q = q.where(Record.entity_id >= start)
    if end:
        q = q.where(Record.entity_id < end)
    rows = [(r.entity_id, r.max_hlc) for r in session.execute(q)]
    count, digest = range_digest(rows)
    result: dict[str, Any] = {"entity": entity, "start": start, "end": end, "count": count,
                              "digest": digest}
    if items:
        if count > RECONCILE_ITEMS_MAX:
            raise Refused(422, f"the range holds {count} rows; narrow it to at most "
                          f"{RECONCILE_ITEMS_MAX} to list them")
        result["items"] = [[i, v] for i, v in sorted(rows)]
    return result


def get_record(session: Session, *, caller: policy.Principal, entity_id: str) -> dict[str, Any]:
    """One row's full state, to repair a difference found by reconciliation."""
    rec = policy.synced_record(caller, session.get(Record, entity_id))
    return {"entity": rec.entity, "entity_id": rec.entity_id, "seq": rec.seq,
            "fields": {n: {"value": v, "hlc": rec.stamps[n], "base": rec.bases.get(n)}
                       for n, v in rec.fields.items()}}
