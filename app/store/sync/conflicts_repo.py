"""The conflict inbox: concurrent edits that lost, for a person to review.

The list is a copy of the cloud's, which found each conflict when it merged the two
writes, so every PC shows the same list. A decision settles the conflict here at once
and is sent to the cloud at the next sync (sync_repo.decisions_to_send), which settles
it for every PC. Choosing a value is also a change: the chosen value is written again
with a new stamp on top of the current one, so it syncs to every PC like any edit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from app.core.hlc import Timestamp
from app.core.text import display_name
from app.store import access
from app.store.db import Database
from app.store.dto import Viewer
from app.store.errors import NotFoundError
from app.store.models import MODEL_BY_ENTITY, Agreement, ConflictRecord, Patient, Payment
from app.store.sync.outbox import utc_now_text


@dataclass(frozen=True, slots=True)
class ConflictRow:
    key: str
    entity: str
    entity_id: str
    field: str
    patient_id: str | None
    patient_name: str
    kept_value: Any
    kept_at: str
    kept_node: str
    other_value: Any
    other_at: str
    other_node: str


def _when(hlc: str) -> tuple[str, str]:
    ts = Timestamp.parse(hlc)
    at = dt.datetime.fromtimestamp(ts.wall_ms / 1000, dt.UTC).astimezone()
    return at.strftime("%Y-%m-%d %H:%M"), ts.node


def _patient_id(s: Any, entity: str, entity_id: str) -> str | None:
    if entity == "patient":
        return entity_id
    obj = s.get(MODEL_BY_ENTITY[entity], entity_id)
    if obj is None:
        return None
    if isinstance(obj, Payment) and obj.patient_id is None and obj.agreement_id:
        # Taken before the ledger: the payment reaches its patient through its agreement.
        agreement = s.get(Agreement, obj.agreement_id)
        return agreement.patient_id if agreement else None
    return getattr(obj, "patient_id", None)


class ConflictsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self, viewer: Viewer) -> list[ConflictRow]:
        out: list[ConflictRow] = []
        with self.db.read() as s:
            for c in s.scalars(
                select(ConflictRecord)
                .where(ConflictRecord.resolved_at.is_(None))
                .order_by(ConflictRecord.found_at, ConflictRecord.key)
            ):
                pid = _patient_id(s, c.entity, c.entity_id)
                patient = s.get(Patient, pid) if pid else None
                try:
                    access.check(viewer, patient)
                except NotFoundError:
                    continue
                assert patient is not None
                kept_at, kept_node = _when(c.winner_hlc)
                other_at, other_node = _when(c.loser_hlc)
                out.append(
                    ConflictRow(
                        c.key,
                        c.entity,
                        c.entity_id,
                        c.field,
                        pid,
                        display_name(patient.first_name, patient.last_name),
                        c.winner_value,
                        kept_at,
                        kept_node,
                        c.loser_value,
                        other_at,
                        other_node,
                    )
                )
        return out

    def resolve(self, viewer: Viewer, key: str, use_other: bool) -> None:
        """Keep the value shown (use_other False) or the one that lost, as a new change."""
        with self.db.write() as s:
            c = self._open(s, viewer, key)
            obj = s.get(MODEL_BY_ENTITY[c.entity], c.entity_id)
            if obj is None:
                raise NotFoundError("The record of this conflict no longer exists.")
            chosen = c.loser_value if use_other else getattr(obj, c.field)
            # Written even when unchanged: the new stamp carries the value to the other
            # PCs. flag_modified makes the flush see a change of equal value.
            setattr(obj, c.field, chosen)
            flag_modified(obj, c.field)
            self._decide(c, "other" if use_other else "kept")

    def dismiss(self, viewer: Viewer, key: str) -> None:
        """Take the conflict off the list, leaving the value as it is."""
        with self.db.write() as s:
            self._decide(self._open(s, viewer, key), "dismissed")

    @staticmethod
    def _open(s: Any, viewer: Viewer, key: str) -> ConflictRecord:
        c: ConflictRecord | None = s.get(ConflictRecord, key)
        if c is None or c.resolved_at is not None:
            raise NotFoundError("This conflict was already settled.")
        pid = _patient_id(s, c.entity, c.entity_id)
        access.check(viewer, s.get(Patient, pid) if pid else None)
        return c

    @staticmethod
    def _decide(c: ConflictRecord, resolution: str) -> None:
        c.resolved_at = utc_now_text()
        c.resolution = resolution
        c.decision_sent = False
