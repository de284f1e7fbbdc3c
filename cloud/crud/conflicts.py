"""The conflict list: found once, by the push that merges the competing writes, and
copied by every PC.

Each conflict has a deterministic key (app.core.merge.Conflict.key) and a version:
the installation's conflict counter when it was found or last settled. A PC reads the
changes after the last version it copied, so it learns new conflicts and decisions
made elsewhere alike, and sends its own decisions here, where they settle the conflict
for every PC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud import policy
from cloud.crud import Refused
from cloud.db import write_transaction
from cloud.models import ConflictRecord, Installation, utcnow

DECISIONS = ("kept", "other", "dismissed")
MAX_DECISIONS = 500
_CHUNK = 500

# (entity id, field, base) of a pushed write that applied on top of an earlier one.
Seen = tuple[str, str, str]


def record_found(session: Session, inst: Installation, found: Mapping[str, dict[str, Any]]) -> None:
    """Store the conflicts a batch found (by key), those not stored already."""
    if not found:
        return
    known = set(session.scalars(
        select(ConflictRecord.key).where(ConflictRecord.installation_id == inst.id,
                                         ConflictRecord.key.in_(list(found)))
    ))
    for key, row in found.items():
        if key in known:
            continue
        inst.conflict_version += 1
        session.add(ConflictRecord(**row, version=inst.conflict_version))
    session.flush()


def settle_seen(session: Session, inst: Installation, seen: Iterable[Seen]) -> None:
    """A write made on top of a conflict's winner (its base is the winner's stamp or
    later) was made by someone who saw it: the conflict is settled ("elsewhere")."""
    bases: dict[tuple[str, str], str] = {}
    for entity_id, name, base in seen:
        key = (entity_id, name)
        bases[key] = max(base, bases.get(key, base))
    if not bases:
        return
    ids = sorted({e for e, _n in bases})
    now = utcnow()
    for i in range(0, len(ids), _CHUNK):
        for c in session.scalars(
            select(ConflictRecord).where(
                ConflictRecord.installation_id == inst.id, ConflictRecord.resolved_at.is_(None),
                ConflictRecord.entity_id.in_(ids[i : i + _CHUNK]))
            .order_by(ConflictRecord.id)
        ):
            seen_base = bases.get((c.entity_id, c.field))
            if seen_base is not None and seen_base >= c.winner["hlc"]:
                _settle(inst, c, "elsewhere", now)


def _settle(inst: Installation, c: ConflictRecord, resolution: str, now: Any) -> None:
    inst.conflict_version += 1
    c.resolved_at = now
    c.resolution = resolution
    c.version = inst.conflict_version


def decide(session: Session, *, installation_id: str,
           decisions: list[Mapping[str, Any]]) -> int:
    """A person's decisions sent by a PC: each open conflict named is settled with it
    (the first decision to arrive counts); returns how many were open."""
    if len(decisions) > MAX_DECISIONS:
        raise Refused(413, f"at most {MAX_DECISIONS} decisions at a time")
    wanted: dict[str, str] = {}
    for d in decisions:
        key, resolution = d.get("key"), d.get("resolution")
        if not isinstance(key, str) or len(key) > 64 or resolution not in DECISIONS:
            raise Refused(422, f"a decision is a conflict key and one of {', '.join(DECISIONS)}")
        wanted.setdefault(key, str(resolution))
    settled = 0
    with write_transaction(session, installation_id) as inst:
        now = utcnow()
        for c in session.scalars(
            select(ConflictRecord).where(
                ConflictRecord.installation_id == inst.id, ConflictRecord.resolved_at.is_(None),
                ConflictRecord.key.in_(list(wanted)))
            .order_by(ConflictRecord.id)
        ):
            _settle(inst, c, wanted[c.key], now)
            settled += 1
    return settled


def resolve_by_id(session: Session, *, installation_id: str, conflict_id: int) -> None:
    """Mark a conflict as reviewed (dismissed), by its number on this cloud."""
    with write_transaction(session, installation_id) as inst:
        c = session.get(ConflictRecord, conflict_id)
        if c is None or c.installation_id != installation_id:
            raise Refused(404, "unknown conflict")
        if c.resolved_at is None:
            _settle(inst, c, "dismissed", utcnow())


def list_conflicts(
    session: Session, *, caller: policy.Principal, after: int, limit: int,
    include_resolved: bool,
) -> dict[str, Any]:
    """Conflicts found or settled after version `after`, in version order."""
    q = (
        select(ConflictRecord)
        .where(policy.synced_rows(caller, ConflictRecord.installation_id),
               ConflictRecord.version > after)
        .order_by(ConflictRecord.version)
        .limit(limit + 1)
    )
    if not include_resolved:
        q = q.where(ConflictRecord.resolved_at.is_(None))
    rows = list(session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "conflicts": [
            {"id": c.id, "key": c.key, "entity": c.entity, "entity_id": c.entity_id,
             "field": c.field, "winner": c.winner, "loser": c.loser, "seq": c.seq,
             "created_at": c.created_at.isoformat(),
             "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
             "resolution": c.resolution, "version": c.version}
            for c in rows
        ],
        "cursor": rows[-1].version if rows else after,
        "more": more,
    }
