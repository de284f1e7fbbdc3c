"""The open windows learn from the agent's commits which kinds of data a pull changed:
a pulled note reloads the notes, not the patient list, the diary and the patient page."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update

from app.core.ids import new_id, new_node_id
from app.store.models import SyncState
from app.store.sync.sync_repo import SyncRepo, copy_conflicts
from app.ui.shell.context import EVERYTHING, ExternalChanges

NODE = new_node_id()


def change(seq: int, entity: str, entity_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = f"{time.time_ns() // 1_000_000:013d}-0000-{NODE}"
    return {"seq": seq, "entity": entity, "entity_id": entity_id, "origin_node": NODE,
            "mutation_id": new_id(),
            "fields": {n: {"value": v, "hlc": stamp, "base": None} for n, v in fields.items()}}


def test_each_pull_says_what_it_changed(store, qtbot) -> None:
    external = ExternalChanges(store, interval_ms=10)
    repo = SyncRepo(store.db)
    pid = new_id()
    try:
        with qtbot.waitSignal(external.changed) as got:
            repo.apply_remote([change(1, "patient", pid, {"first_name": "Ann",
                                                          "gender": "female"})], 1)
        assert got.args[0] == {"patients"}

        with qtbot.waitSignal(external.changed) as got:
            repo.apply_remote([change(2, "note", new_id(), {
                "patient_id": pid, "body": "Please call back", "deleted": False,
                "created_at": "2026-11-30T10:00:00+00:00"})], 2)
        assert got.args[0] == {"notes"}

        conflict = {"key": "a" * 32, "entity": "patient", "entity_id": pid,
                    "field": "first_name", "created_at": "2026-11-30T10:00:00+00:00",
                    "winner": {"value": "Ann", "hlc": f"{1:013d}-0001-{NODE}"},
                    "loser": {"value": "Anna", "hlc": f"{1:013d}-0000-{NODE}"}}
        with qtbot.waitSignal(external.changed) as got:
            copy_conflicts(store.db, [conflict], 1)
        assert got.args[0] == {"conflicts"}

        # A step of another kind (images filed by the agent): everything reloads.
        with qtbot.waitSignal(external.changed) as got, store.db.write() as s:
            s.execute(update(SyncState).values(remote_version=SyncState.remote_version + 1))
        assert got.args[0] == set(EVERYTHING)
    finally:
        external.stop()
