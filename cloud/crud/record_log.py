"""The one way the cloud writes synced data: a record's new state and its change-log
row, with the same seq, in the installation's write transaction.

Pushed mutations (cloud.crud.push), notes written on the portal (cloud.portal.notes)
and any other writer go through `RecordLog.put`; pulls read the change log, so what is
written here reaches every PC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, update

from app.core.compact import SHARED, change_fields, stored_stamps
from app.core.reconcile import row_version
from app.platform.bulk_insert import insert_many
from cloud.models import Change, Record

_RECORDS = cast(Table, Record.__table__)
_CHANGES = cast(Table, Change.__table__)
_RECORD_COLUMNS = ("entity_id", "installation_id", "entity", "fields", "stamps", "bases",
                   "max_hlc", "seq")
_CHANGE_COLUMNS = ("installation_id", "seq", "entity", "entity_id", "origin_node",
                   "device_id", "mutation_id", "created_at", "fields")
_record_row = itemgetter(*_RECORD_COLUMNS)


@dataclass(slots=True)
class RecordState:
    """A record as a transaction sees it: stored already, or new in it."""

    entity: str
    fields: dict[str, Any] = field(default_factory=dict)
    stamps: dict[str, str] = field(default_factory=dict)
    bases: dict[str, str | None] = field(default_factory=dict)
    stored: bool = False

    @classmethod
    def of(cls, r: Record) -> RecordState:
        return cls(r.entity, dict(r.fields), dict(r.stamps), dict(r.bases), stored=True)


@dataclass
class RecordLog:
    """The records and change-log rows of one transaction, written in bulk at its end."""

    installation_id: str
    new_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[tuple[Any, ...]] = field(default_factory=list)  # in _CHANGE_COLUMNS order

    def put(
        self, rec: RecordState, entity_id: str, values: Mapping[str, Any],
        stamps: Mapping[str, str], bases: Mapping[str, str | None], *, seq: int,
        origin_node: str, now: dt.datetime, device_id: str | None = None,
        mutation_id: str | None = None,
    ) -> None:
        """Set `values` (with their stamps and bases) on `rec`, as change `seq`."""
        change = change_fields(values, stamps, bases)
        shared = change.get(SHARED)
        created = shared is not None and not rec.stamps
        rec.fields.update(values)
        rec.stamps.update(stamps)
        rec.bases.update(bases)
        target = self.changed_records if rec.stored else self.new_records
        target[entity_id] = {
            "entity_id": entity_id, "installation_id": self.installation_id,
            "entity": rec.entity, "fields": rec.fields,
            # A record made by this change has one stamp and no base: its stored forms
            # (cloud.models.StampsJSON, BasesJSON) are known without looking at each field.
            "stamps": stored_stamps(shared, values) if created and shared else rec.stamps,
            "bases": {} if created else rec.bases,
            "max_hlc": shared if created else row_version(rec.stamps), "seq": seq,
        }
        # As the row is written (_CHANGE_COLUMNS): a first upload makes hundreds of
        # thousands of them, each in the compact form a creation has.
        self.changes.append((
            self.installation_id, seq, rec.entity, entity_id, origin_node, device_id,
            mutation_id, now, change,
        ))

    def write(self, conn: Connection) -> None:
        # Straight to the driver (app.platform.bulk_insert): a first upload writes
        # hundreds of thousands of records and changes.
        insert_many(conn, _RECORDS, _RECORD_COLUMNS, map(_record_row, self.new_records.values()))
        if self.changed_records:
            stmt = update(_RECORDS).where(_RECORDS.c.entity_id == bindparam("record_id"))
            conn.execute(stmt, [
                {"record_id": r["entity_id"], **{k: v for k, v in r.items() if k != "entity_id"}}
                for r in self.changed_records.values()
            ])
        insert_many(conn, _CHANGES, _CHANGE_COLUMNS, self.changes)
