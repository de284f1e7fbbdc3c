"""Patient aliases: a merged patient's old id resolves to the patient that was kept."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from cloud.crud.idset import among
from cloud.models import PatientAlias, utcnow

_MAX_CHAIN = 32


class AliasMap:
    """The aliases of one installation that a batch may meet, changed in memory and
    written back with `write` inside the batch's transaction."""

    def __init__(self, installation_id: str, known: dict[str, str]) -> None:
        self.installation_id = installation_id
        self._map = known
        self._dirty: dict[str, str | None] = {}

    @classmethod
    def load(cls, session: Session, *, installation_id: str, ids: Iterable[str]) -> AliasMap:
        known: dict[str, str] = {}
        frontier = set(ids)
        while frontier:  # follow chains (a kept patient merged again later)
            rows = session.execute(
                select(PatientAlias.old_id, PatientAlias.kept_id).where(
                    PatientAlias.installation_id == installation_id,
                    among(session, PatientAlias.old_id, frontier),
                )
            ).all()
            known.update({old: kept for old, kept in rows})
            frontier = {kept for _old, kept in rows} - set(known)
        return cls(installation_id, known)

    def __len__(self) -> int:
        """How many aliases are known: with none, every id resolves to itself."""
        return len(self._map)

    def resolve(self, patient_id: str) -> str:
        seen = {patient_id}
        current = patient_id
        for _ in range(_MAX_CHAIN):
            nxt = self._map.get(current)
            if nxt is None or nxt in seen:
                break
            seen.add(nxt)
            current = nxt
        return current

    def set(self, old_id: str, kept_id: object) -> None:
        """`merged_into` of `old_id` is now `kept_id` (None: the merge was undone).

        A merge that would close a cycle keeps the field but makes no alias.
        """
        if not isinstance(kept_id, str):
            self._map.pop(old_id, None)
            self._dirty[old_id] = None
            return
        if self.resolve(kept_id) == old_id:
            return
        self._map[old_id] = kept_id
        self._dirty[old_id] = kept_id

    def write(self, session: Session) -> None:
        if not self._dirty:
            return
        session.execute(delete(PatientAlias).where(
            PatientAlias.installation_id == self.installation_id,
            PatientAlias.old_id.in_(list(self._dirty)),
        ))
        rows = [{"old_id": old, "installation_id": self.installation_id, "kept_id": kept,
                 "created_at": utcnow()} for old, kept in self._dirty.items() if kept]
        if rows:
            session.execute(insert(PatientAlias), rows)


def resolve_patient(session: Session, *, installation_id: str, patient_id: str) -> str:
    return AliasMap.load(session, installation_id=installation_id,
                         ids=[patient_id]).resolve(patient_id)


def merged_into(session: Session, *, installation_id: str, kept_ids: Iterable[str]) -> set[str]:
    """The old ids that resolve to any of `kept_ids`, at any depth: rows that still name
    a merged patient (written by a PC that had not heard of the merge) are the kept one's."""
    kept = set(kept_ids)
    found: set[str] = set()
    frontier = set(kept)
    for _ in range(_MAX_CHAIN):
        if not frontier:
            break
        rows = set(session.scalars(select(PatientAlias.old_id).where(
            PatientAlias.installation_id == installation_id,
            PatientAlias.kept_id.in_(sorted(frontier)))))
        frontier = rows - found - kept
        found |= frontier
    return found
