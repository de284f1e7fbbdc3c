"""Pull: the cloud's changes after our cursor, page by page, a few pages at a time
applied with the last one's cursor in one local transaction.

The next pages are fetched while these are applied: the cloud's work and the local
database's overlap. A page that fails to apply stops the pull; the one fetched
meanwhile is dropped, and the next pull starts again from the stored cursor (the
pages gathered but not yet applied are fetched again then).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.platform.collector import collector_paused
from app.store.settings_repo import SettingsRepo
from app.store.sync.purge_repo import PURGE_ENTITY, purge_local, remove_files
from app.store.sync.sync_repo import (
    SyncRepo,
    copy_conflicts,
    decisions_sent,
    decisions_to_send,
)
from app.store.sync.unapplied_repo import split
from sync_agent.client import CloudClient, RejectedError

# The most the cloud gives in one page; a larger local transaction also rewrites the
# search index's pages fewer times.
PAGE = 10_000
# What a cloud from before the large pages accepts: it answers 422 to more.
OLD_CLOUD_PAGE = 1_000
# Changes applied in one local transaction: pages are gathered up to this many. Each
# commit writes every database page the transaction touched, and a large pull touches
# the same index pages again in each: fewer, larger transactions write them fewer times
# (measured: a fifth less CPU for the search index at four pages a transaction).
BATCH = 30_000
DECISIONS_AT_ONCE = 500  # the most the cloud takes in one request
_SCREENED = "_screened"  # (applicable changes, [(change, reason)]) of a fetched page


@dataclass
class PullReport:
    pages: int = 0
    applied: int = 0
    conflicts: int = 0


def pull_all(repo: SyncRepo, client: CloudClient, report: PullReport | None = None,
             on_page: Callable[[PullReport], None] | None = None) -> PullReport:
    """Pull until the cloud has nothing newer; `on_page` hears after each page applied."""
    report = report or PullReport()
    size = PAGE
    cursor = repo.pull_cursor()
    # The conflict list comes with the last page of changes (one request less a pull).
    listed = int(SettingsRepo(repo.db).get("conflicts_cursor"))
    try:
        first = _fetch(client, cursor, size, listed)
    except RejectedError as exc:
        if exc.status != 422:
            raise
        # A cloud not yet updated: the agents may be newer than the server for a while.
        size = OLD_CLOUD_PAGE
        first = _fetch(client, cursor, size, listed)
    ahead = _Ahead(client, first, size, listed)
    # Off for the whole pull, not a batch at a time: back on between two batches, it
    # walks every object the next batch has already gathered (a twentieth of a first
    # pull's time in a profile); pulled pages leave no cycles to collect meanwhile.
    with collector_paused():
        _pull_pages(repo, ahead, cursor, report, on_page)
    report.conflicts += pull_conflicts(repo, client, ahead.last.get("conflict_list"))
    return report


def _pull_pages(repo: SyncRepo, ahead: _Ahead, cursor: int, report: PullReport,
                on_page: Callable[[PullReport], None] | None) -> None:
    try:
        batch: list[dict[str, Any]] = []
        aside: list[tuple[Any, str]] = []  # the batch's changes that can not be applied
        fetched = 0  # pages in the batch
        while True:
            page = ahead.next()
            more = bool(page.get("more"))
            good, bad = page[_SCREENED]
            batch.extend(good)
            aside.extend(bad)
            fetched += 1
            if more and len(batch) < BATCH:
                continue
            if batch or int(page["cursor"]) != cursor:
                # Nothing new (an idle PC's pull): no write, no commit to wait for.
                # Many new patients (a first pull) are indexed once, at the end.
                result = repo.apply_remote(_purged(repo, batch), int(page["cursor"]),
                                           defer_index=True, aside=aside)
                report.applied += result.applied_rows
            cursor = int(page["cursor"])
            report.pages += fetched
            batch, aside, fetched = [], [], 0
            if on_page is not None:
                on_page(report)
            if not more:
                break
    finally:
        ahead.close()
        # The patients pulled so far become searchable even when the pull stops half-way
        # (the link lost): the next pull adds the rest. After a crash, the agent's start
        # does it (sync_agent.runner).
        repo.finish_index()


class _Ahead:
    """The pages after `first`, fetched on a thread of their own up to a batch ahead:
    while one batch is applied, the next one arrives."""

    def __init__(self, client: CloudClient, first: dict[str, Any], size: int,
                 listed: int) -> None:
        self._pages: queue.Queue[dict[str, Any] | BaseException] = queue.Queue(
            max(1, BATCH // size))
        self._pages.put(first)
        self.last: dict[str, Any] = first  # the page handed out last
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if first.get("more"):
            self._thread = threading.Thread(
                target=self._run, args=(client, int(first["cursor"]), size, listed),
                name="pull", daemon=True)
            self._thread.start()

    def _run(self, client: CloudClient, cursor: int, size: int, listed: int) -> None:
        more = True
        while more and not self._stop.is_set():
            try:
                page: dict[str, Any] | BaseException = _fetch(client, cursor, size, listed)
            except BaseException as exc:  # handed to the applying thread, which raises it
                page = exc
            while not self._stop.is_set():
                try:
                    self._pages.put(page, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(page, BaseException):
                return
            more = bool(page.get("more"))
            cursor = int(page["cursor"])

    def next(self) -> dict[str, Any]:
        page = self._pages.get()
        if isinstance(page, BaseException):
            raise page
        self.last = page
        return page

    def close(self) -> None:
        """Stop fetching (a page that failed to apply stops the pull): what was fetched
        ahead is dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _purged(repo: SyncRepo, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes after the page's purge change (the clinic was dissolved), that purge
    carried out first; the page itself when it holds none."""
    at = next((i for i, c in enumerate(changes) if c.get("entity") == PURGE_ENTITY), None)
    if at is None:
        return changes
    purge = changes[at]
    if at:
        # Screened already, as the whole batch was: its unfit changes go with the rest.
        repo.apply_remote(changes[:at], int(purge["seq"]) - 1, aside=[])
    remove_files(repo.db, purge_local(repo.db, purge))
    return _purged(repo, changes[at + 1:])


def _fetch(client: CloudClient, after: int, size: int, listed: int) -> dict[str, Any]:
    """A page, its changes screened (unapplied_repo.split) under _SCREENED.

    Screened here, on the fetching thread: checking every value of a first pull is a
    sixth of the applying thread's work, and this thread runs it while that one waits
    for the database (its SQLite work lets go of the interpreter)."""
    # A page is ten thousand changes of small dicts: see app.platform.collector.
    with collector_paused():
        page = client.pull(after, size, conflicts_after=listed)
        page[_SCREENED] = split(page["changes"])
        return page


def send_decisions(repo: SyncRepo, client: CloudClient) -> None:
    """The decisions made here in the conflict inbox, to the cloud, which settles the
    conflicts for every PC. Sent before the values chosen are pushed: a value written on
    top of the winner would settle the conflict too, but without saying who chose what."""
    decisions = decisions_to_send(repo.db)
    for i in range(0, len(decisions), DECISIONS_AT_ONCE):
        part = decisions[i : i + DECISIONS_AT_ONCE]
        client.decide_conflicts(part)
        decisions_sent(repo.db, [d["key"] for d in part])


def pull_conflicts(repo: SyncRepo, client: CloudClient,
                   first: dict[str, Any] | None = None) -> int:
    """Copy what changed in the cloud's conflict list (decisions made elsewhere among
    it), starting with `first` when the last page of changes carried it; returns how
    many conflicts are new here."""
    settings = SettingsRepo(repo.db)
    cursor = int(settings.get("conflicts_cursor"))
    added = 0
    page = first if isinstance(first, dict) else None
    while True:
        if page is None:
            page = client.conflicts(cursor)
        if page["conflicts"] or int(page["cursor"]) != cursor:
            added += copy_conflicts(repo.db, page["conflicts"], int(page["cursor"]))
        cursor = int(page["cursor"])
        if not page.get("more"):
            return added
        page = None
