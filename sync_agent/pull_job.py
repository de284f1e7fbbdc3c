"""Pull: the cloud's changes after our cursor, page by page, each page applied with
its cursor in one local transaction.

The next page is fetched while this one is applied: the cloud's work and the local
database's overlap. A page that fails to apply stops the pull; the one fetched
meanwhile is dropped, and the next pull starts again from the stored cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from app.store.settings_repo import SettingsRepo
from app.store.sync.sync_repo import SyncRepo, add_conflicts
from sync_agent.client import CloudClient, RejectedError

# The most the cloud gives in one page; a larger local transaction also rewrites the
# search index's pages fewer times.
PAGE = 10_000
# What a cloud from before the large pages accepts: it answers 422 to more.
OLD_CLOUD_PAGE = 1_000


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
    try:
        first = client.pull(cursor, size)
    except RejectedError as exc:
        if exc.status != 422:
            raise
        # A cloud not yet updated: the agents may be newer than the server for a while.
        size = OLD_CLOUD_PAGE
        first = client.pull(cursor, size)
    with ThreadPoolExecutor(1, thread_name_prefix="pull") as fetcher:
        pending: Future[dict[str, Any]] = Future()
        pending.set_result(first)
        while True:
            page = pending.result()
            more = bool(page.get("more"))
            if more:
                pending = fetcher.submit(client.pull, int(page["cursor"]), size)
            result = repo.apply_remote(page["changes"], int(page["cursor"]))
            report.pages += 1
            report.applied += result.applied_rows
            report.conflicts += result.conflicts
            if on_page is not None:
                on_page(report)
            if not more:
                break
    report.conflicts += pull_conflicts(repo, client)
    return report


def pull_conflicts(repo: SyncRepo, client: CloudClient) -> int:
    settings = SettingsRepo(repo.db)
    cursor = int(settings.get("conflicts_cursor"))
    added = 0
    while True:
        page = client.conflicts(cursor)
        added += add_conflicts(repo.db, page["conflicts"], int(page["cursor"]))
        cursor = int(page["cursor"])
        if not page.get("more"):
            return added
