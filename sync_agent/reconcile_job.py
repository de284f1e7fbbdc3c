"""Database synchronization: find where the cloud's copy differs from ours, and repair
only that, in either direction.

Per entity, both sides give (count, digest) over a range of ids (app.core.reconcile).
Equal: nothing to do. Different: split the range in two by id and compare again, down
to ranges small enough to exchange their (id, version) lists. Then a row the cloud
lacks, or holds older, is queued whole for upload; a row we lack, or hold older, is
fetched and applied with the same per-field rule as any pulled change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.core.reconcile import range_digest
from app.store.db import Database
from app.store.models import MODEL_BY_ENTITY
from app.store.sync.sync_repo import SyncRepo, queue_rows, versions
from sync_agent.client import CloudClient
from sync_agent.push_job import push_all

LIST_AT = 200  # exchange id lists for ranges this small (the cloud allows up to 1000)
_TOP = 1 << 128


@dataclass
class ReconcileReport:
    checked: dict[str, int] = field(default_factory=dict)  # entity -> rows compared
    sent: dict[str, int] = field(default_factory=dict)  # rows the cloud lacked or held older
    fetched: dict[str, int] = field(default_factory=dict)  # rows we lacked or held older
    ranges: int = 0

    def describe(self) -> str:
        sent, fetched = sum(self.sent.values()), sum(self.fetched.values())
        if not sent and not fetched:
            return "The server's copy matches this computer's: nothing to repair."
        parts = []
        for entity in sorted(set(self.sent) | set(self.fetched)):
            s, f = self.sent.get(entity, 0), self.fetched.get(entity, 0)
            parts.append(f"{entity}: {s} sent to the server, {f} brought from it")
        return "Repaired — " + "; ".join(parts) + "."


def _bound(value: int) -> str:
    return "" if value >= _TOP else str(uuid.UUID(int=value))


def _value(bound: str, default: int) -> int:
    return default if not bound else uuid.UUID(bound).int


def reconcile(db: Database, client: CloudClient) -> ReconcileReport:
    repo = SyncRepo(db)
    push_all(repo, client)  # what waits in the outbox is not a difference
    report = ReconcileReport()
    summary = client.reconcile_summary()
    for entity in MODEL_BY_ENTITY:
        local = versions(db, entity)
        report.checked[entity] = len(local)
        theirs = summary.get(entity, {})
        if (theirs.get("count"), theirs.get("digest")) == range_digest(local):
            continue
        _narrow(db, client, repo, entity, "", "", report)
    push_all(repo, client)
    return report


def _narrow(
    db: Database,
    client: CloudClient,
    repo: SyncRepo,
    entity: str,
    start: str,
    end: str,
    report: ReconcileReport,
) -> None:
    report.ranges += 1
    local = versions(db, entity, start, end)
    theirs = client.reconcile_range(entity, start, end, items=False)
    if (theirs["count"], theirs["digest"]) == range_digest(local):
        return
    lo, hi = _value(start, 0), _value(end, _TOP)
    if max(theirs["count"], len(local)) <= LIST_AT or hi - lo < 2:
        _repair(db, client, repo, entity, start, end, dict(local), report)
        return
    # Split at our median id: ids are time-ordered UUIDv7s, clustered in a corner of
    # the id space, so halving the space itself would waste dozens of rounds.
    ids = sorted(i for i, _ in local)
    mid = _value(ids[len(ids) // 2], 0) if len(ids) >= 2 else (lo + hi) // 2
    if not lo < mid < hi:
        mid = (lo + hi) // 2
    _narrow(db, client, repo, entity, start, _bound(mid), report)
    _narrow(db, client, repo, entity, _bound(mid), end, report)


def _repair(
    db: Database,
    client: CloudClient,
    repo: SyncRepo,
    entity: str,
    start: str,
    end: str,
    mine: dict[str, str],
    report: ReconcileReport,
) -> None:
    items = client.reconcile_range(entity, start, end, items=True).get("items") or []
    theirs = {i: v for i, v in items}
    send = [i for i, v in mine.items() if theirs.get(i, "") < v]
    fetch = [i for i, v in theirs.items() if mine.get(i, "") < v]
    if send:
        queue_rows(db, entity, send)
        report.sent[entity] = report.sent.get(entity, 0) + len(send)
    if fetch:
        records = [r for r in (client.record(i) for i in fetch) if r is not None]
        repo.apply_remote(records, repo.pull_cursor())
        report.fetched[entity] = report.fetched.get(entity, 0) + len(records)
