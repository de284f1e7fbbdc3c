"""The app learns of the agent's commits from the database alone: a heartbeat is news
for the status bar only; a pulled page says which kinds of data it changed."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update

from app.core.ids import new_id, new_node_id
from app.store.models import SyncState
from app.store.sync.commit_watch import Commit, CommitWatch
from app.store.sync.sync_repo import ALL_KINDS, SyncRepo

NODE = new_node_id()


def change(seq: int, entity: str, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = f"{time.time_ns() // 1_000_000:013d}-0000-{NODE}"
    return {"seq": seq, "entity": entity, "entity_id": new_id(), "origin_node": NODE,
            "mutation_id": new_id(),
            "fields": {n: {"value": v, "hlc": stamp, "base": None} for n, v in fields.items()}}


def test_each_commit_is_seen_once_with_the_kinds_it_pulled(store) -> None:
    watch = CommitWatch(store.db)
    try:
        assert watch.poll() is None  # nothing committed since it started

        store.agent.publish(online=True)  # the agent's heartbeat: no pulled data
        assert watch.poll() == Commit(None)
        assert watch.poll() is None

        SyncRepo(store.db).apply_remote(
            [change(1, "patient", {"first_name": "Ann", "gender": "female"})], 1)
        assert watch.poll() == Commit(frozenset({"patient"}))

        # A step no kind was counted for (images filed by the agent): everything.
        with store.db.write() as s:
            s.execute(update(SyncState).values(remote_version=SyncState.remote_version + 1))
        assert watch.poll() == Commit(frozenset({ALL_KINDS}))
    finally:
        watch.close()
