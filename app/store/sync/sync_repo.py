"""The store's side of sync: the outbox queue, applying pulled changes, the copy of the
cloud's conflict list.

Pulled changes are applied with the same per-field rule as the cloud (app.core.merge)
in one transaction together with the new pull cursor, so a crash applies all of a
page or none of it, and a page applied twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    func,
    insert,
    select,
    update,
)

from app.core.hlc import Clock, Timestamp
from app.platform.collector import collector_paused
from app.platform.rowcount import rowcount
from app.store.base import table_of
from app.store.db import CACHE_KIB, Database
from app.store.models import (
    MODEL_BY_ENTITY,
    ConflictRecord,
    OutboxMutation,
    SyncState,
)
from app.store.patients import search_index
from app.store.sync import unapplied_repo
from app.store.sync.outbox import utc_now_text
from app.store.sync.remote_apply import apply_page
from app.store.sync.requeue_repo import payload_sql

# queued from here too
from app.store.sync.requeue_repo import queue_everything as queue_everything
from app.store.sync.requeue_repo import queue_rows as queue_rows
from app.store.users.users_merge import merge_duplicates

# A large page (the first pull of a large practice) writes all over the search index.
# A page cache that holds the index saves re-reading and decrypting its pages for
# every page pulled; the next ordinary page gives the memory back.
BULK_PAGE = 1000
BULK_CACHE_KIB = 128 * 1024  # measured: as fast as 512 MiB with 100,000 patients


@dataclass(frozen=True, slots=True)
class QueuedMutation:
    seq: int
    # The payload's JSON text as stored (or, for a row queued whole, as built from the row
    # now): sent as it is, never decoded to be sent.
    raw: str
    size: int  # bytes of `raw`

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.raw))


@dataclass(frozen=True, slots=True)
class ApplyReport:
    applied_rows: int
    cursor: int


class SyncRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Outbox ---------------------------------------------------------------------------
    def outbox_batch(self, limit: int, max_bytes: int, after: int = 0,
                     shared_hlc: bool = False) -> list[QueuedMutation]:
        """The oldest pending mutations after seq `after`, at most `limit` and about
        `max_bytes`; rows queued whole in the shared-stamp form with `shared_hlc`."""
        out: list[QueuedMutation] = []
        total = 0
        with self.db.read() as s:
            # Rows queued whole get their payload here, from the rows as they are now.
            rows = s.connection().exec_driver_sql(
                f"SELECT o.seq, {payload_sql(shared_hlc)} FROM outbox o WHERE o.status = 'pending' "
                "AND o.seq > ? ORDER BY o.seq LIMIT ?", (after, limit)
            )
            for seq, raw in cast("Iterable[tuple[int, str]]", rows):
                size = len(raw.encode())
                if out and total + size > max_bytes:
                    break
                out.append(QueuedMutation(seq, raw, size))
                total += size
        return out

    def acknowledge(self, seqs: Iterable[int]) -> None:
        """The cloud holds these: they leave the outbox."""
        seqs = list(seqs)
        if seqs:
            with self.db.write() as s:
                # One lookup by key per row. With "seq IN (...)" SQLite scans the whole
                # outbox when its statistics say the outbox is small (as they do when it
                # was analysed empty), and with a range added it still reads from the
                # lowest seq to the end: either way once per pushed batch, so a large
                # upload slowed down with its own size. Straight to the driver: a first
                # upload acknowledges hundreds of thousands.
                s.connection().exec_driver_sql(
                    "DELETE FROM outbox WHERE seq = ?", [(seq,) for seq in seqs]
                )

    def fail(self, seq: int, reason: str) -> None:
        with self.db.write() as s:
            s.execute(
                update(OutboxMutation)
                .where(OutboxMutation.seq == seq)
                .values(
                    status="failed", last_error=reason[:2000], attempts=OutboxMutation.attempts + 1
                )
            )

    def retry_failed(self) -> int:
        with self.db.write() as s:
            result = s.execute(
                update(OutboxMutation)
                .where(OutboxMutation.status == "failed")
                .values(status="pending")
            )
            return rowcount(result)

    def outbox_counts(self) -> tuple[int, int]:
        """(pending, failed)."""
        with self.db.read() as s:
            rows = dict(
                s.execute(
                    select(OutboxMutation.status, func.count()).group_by(OutboxMutation.status)
                ).all()
            )
        return int(rows.get("pending", 0)), int(rows.get("failed", 0))

    def adopt_stamps(
        self, entity: str, entity_id: str, stamps: Mapping[str, tuple[str, str]]
    ) -> None:
        """Replace our stamp of each field by the cloud's (pushed, cloud's), where the
        field still carries the stamp we pushed."""
        model = MODEL_BY_ENTITY[entity]
        with self.db.write(remote_apply=True) as s:
            obj = s.get(model, entity_id)
            if obj is None:
                return
            mine = dict(obj.stamps or {})
            for name, (pushed, theirs) in stamps.items():
                if name in mine and mine[name][0] == pushed:
                    mine[name] = [theirs, mine[name][1]]
            obj.stamps = mine

    # Pull -----------------------------------------------------------------------------
    def pull_cursor(self) -> int:
        with self.db.read() as s:
            return int(s.execute(select(SyncState.pull_cursor)).scalar_one())

    def apply_remote(self, changes: Sequence[Mapping[str, Any]], cursor: int, *,
                     defer_index: bool = False,
                     aside: Sequence[tuple[Any, str]] | None = None) -> ApplyReport:
        """Apply one page of pulled changes and store the cursor, atomically. With
        `defer_index`, many new patients wait for finish_index to be searchable. With
        `aside`, the changes were screened already (unapplied_repo.split) and these are
        the ones that can not be applied."""
        found_at = utc_now_text()
        bulk = len(changes) >= BULK_PAGE
        with self.db.write(remote_apply=True) as s, collector_paused(bulk):
            conn = s.connection()
            cache = BULK_CACHE_KIB if bulk else CACHE_KIB
            conn.exec_driver_sql(f"PRAGMA cache_size = -{cache}")
            state = conn.execute(
                select(SyncState.node_id, SyncState.last_hlc).where(SyncState.id == 1)
            ).one()
            clock = Clock(
                state.node_id, Timestamp.parse(state.last_hlc) if state.last_hlc else None
            )
            kinds: set[str] = set()
            applied = apply_page(conn, changes, clock, found_at, kinds,
                                 defer_index=defer_index, aside=aside)
            count_changed_kinds(s, kinds)
            conn.execute(
                update(SyncState)
                .where(SyncState.id == 1)
                .values(
                    last_hlc=str(clock.last),
                    pull_cursor=cursor,
                    remote_version=SyncState.remote_version + (1 if applied else 0),
                )
            )
        # A user made here and one pulled may share a name: they become one, a change
        # of our own that goes up with the next push (after a crash in between, the
        # next page does it).
        merge_duplicates(self.db)
        return ApplyReport(applied, cursor)

    def finish_index(self) -> int:
        """Index the patients pulled with `defer_index` (search_index.build_pending), a
        part a transaction so that the app's writes never wait long; returns how many
        patients were read (0: nothing was waiting). The note that they wait is cleared
        with the last part: a crash in between builds them again, harmlessly (a row
        already there is ignored). Called where the pull that defers them runs, one
        after the other: no other build or deferral runs meanwhile."""
        # Planned in a read transaction: the app's writes wait for none of it.
        with self.db.read() as s, collector_paused():
            conn = s.connection()
            start = search_index.pending(conn)
            if start is None:
                return 0
            build = search_index.plan(conn, start, search_index.ROWS_A_PART)
        build.fresh = False
        last = len(build.parts) - 1  # a plan has one part at least
        for part in range(last + 1):
            with self.db.write() as s, collector_paused():
                conn = s.connection()
                search_index.write_part(conn, build, part)
                if part == last:
                    search_index.done(conn)
                    # A search shown while the pull ran is shown again, finding them all.
                    count_changed_kinds(s, {"patient"})
                    conn.execute(update(SyncState).where(SyncState.id == 1)
                                 .values(remote_version=SyncState.remote_version + 1))
        return len(build.values)


def copy_conflicts(db: Database, conflicts: list[Mapping[str, Any]], cursor: int) -> int:
    """A page of the cloud's conflict list (conflicts found or settled after our cursor)
    copied here with the new cursor, in one transaction; returns how many are new here.

    A conflict still open there but decided here keeps the decision made here: it is
    sent at the next sync. One settled there is settled here as it was there."""
    from app.store.models import Setting

    added = touched = 0
    with db.write() as s:
        conflicts, aside = unapplied_repo.split(conflicts, unapplied_repo.screen_conflict)
        unapplied_repo.set_aside(s.connection(), aside, utc_now_text())
        for c in conflicts:
            if c["entity"] not in MODEL_BY_ENTITY:
                continue
            row = s.get(ConflictRecord, c["key"])
            if row is None:
                row = ConflictRecord(
                    key=c["key"],
                    entity=c["entity"],
                    entity_id=c["entity_id"],
                    field=c["field"],
                    winner_value=c["winner"]["value"],
                    winner_hlc=c["winner"]["hlc"],
                    loser_value=c["loser"]["value"],
                    loser_hlc=c["loser"]["hlc"],
                    found_at=c["created_at"],
                    decision_sent=True,
                )
                s.add(row)
                added += 1
                touched += 1
            if not c.get("resolved_at"):
                continue  # open there; here perhaps decided, the decision on its way
            # Settled there: the first decision to reach the cloud counts, ours or not.
            touched += row.resolved_at is None
            row.resolved_at = c["resolved_at"]
            row.resolution = c.get("resolution") or "elsewhere"
            row.decision_sent = True
        if touched:
            # What the open windows watch (app.ui.shell.context.ExternalChanges): the
            # inbox shows the list as it is now.
            count_changed_kinds(s, {CONFLICTS_KIND})
            s.execute(
                update(SyncState)
                .where(SyncState.id == 1)
                .values(remote_version=SyncState.remote_version + 1)
            )
        setting = s.get(Setting, "conflicts_cursor")
        if setting is None:
            s.add(Setting(key="conflicts_cursor", value=cursor))
        else:
            setting.value = cursor
    return added


CHANGED_KINDS = "changed_kinds"  # settings key: {entity: changes applied}
CONFLICTS_KIND = "conflict"  # the conflict list's entry there
ALL_KINDS = "*"


def count_changed_kinds(s: Any, kinds: set[str]) -> None:
    """Count, by kind of data, what a step of remote_version (one page of pulled changes
    applied, or the conflict list copied) changed: the open windows reload only what
    shows the kinds that moved. Called in the transaction that takes the step; written
    below the ORM, so that no flush (and none of its hooks) runs for it."""
    from app.store.models import Setting

    if not kinds:
        return
    table = table_of(Setting)
    conn = s.connection()
    stored = conn.execute(select(table.c.value).where(table.c.key == CHANGED_KINDS)).first()
    counts = dict(stored[0]) if stored is not None and isinstance(stored[0], dict) else {}
    for kind in kinds:
        counts[kind] = int(counts.get(kind, 0)) + 1
    # How many of remote_version's steps are counted here: a step not counted (images
    # filed, a clinic dissolved) tells the windows to reload everything.
    counts[ALL_KINDS] = int(counts.get(ALL_KINDS, 0)) + 1
    if stored is None:
        conn.execute(insert(table).values(key=CHANGED_KINDS, value=counts))
    else:
        conn.execute(update(table).where(table.c.key == CHANGED_KINDS).values(value=counts))


def decisions_to_send(db: Database) -> list[dict[str, str]]:
    """Decisions made here that the cloud has not heard of yet."""
    with db.read() as s:
        rows = s.execute(
            select(ConflictRecord.key, ConflictRecord.resolution).where(
                ConflictRecord.decision_sent.is_(False)
            )
        )
        # a decision not sent has its resolution (ConflictsRepo._decide)
        return [{"key": key, "resolution": resolution} for key, resolution in rows
                if resolution is not None]


def decisions_sent(db: Database, keys: Iterable[str]) -> None:
    keys = list(keys)
    if keys:
        with db.write() as s:
            s.execute(
                update(ConflictRecord)
                .where(ConflictRecord.key.in_(keys))
                .values(decision_sent=True)
            )


def versions(db: Database, entity: str, start: str = "", end: str = "") -> list[tuple[str, str]]:
    """(id, version) of this replica's rows of `entity` with start <= id < end, where a
    row's version is its greatest field stamp (app.core.reconcile)."""
    from app.core.reconcile import row_version

    model = MODEL_BY_ENTITY[entity]
    stmt = select(model.id, model.stamps)
    if start:
        stmt = stmt.where(model.id >= start)
    if end:
        stmt = stmt.where(model.id < end)
    with db.read() as s:
        return [
            (i, row_version([v[0] for v in (stamps or {}).values()]))
            for i, stamps in cast("Iterable[tuple[str, dict[str, list[str]] | None]]",
                                  s.execute(stmt))
        ]
