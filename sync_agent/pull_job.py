"""Pull: the cloud's changes after our cursor, page by page, each page applied with
its cursor in one local transaction.

The next page is fetched while this one is applied: the cloud's work and the local
database's overlap. A page that fails to apply stops the pull; the one fetched
meanwhile is dropped, and the next pull starts again from the stored cursor.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.store.settings_repo import SettingsRepo
from app.store.sync_repo import SyncRepo, add_conflicts
from sync_agent.client import CloudClient

# The most the cloud gives in one page; a larger local transaction also rewrites the
# search index's pages fewer times.
PAGE = 10_000


@dataclass
class PullReport:
    pages: int = 0
    applied: int = 0
    conflicts: int = 0


def pull_all(repo: SyncRepo, client: CloudClient, report: PullReport | None = None) -> PullReport:
    report = report or PullReport()
    with ThreadPoolExecutor(1, thread_name_prefix="pull") as fetcher:
        pending = fetcher.submit(client.pull, repo.pull_cursor(), PAGE)
        while True:
            page = pending.result()
            more = bool(page.get("more"))
            if more:
                pending = fetcher.submit(client.pull, int(page["cursor"]), PAGE)
            result = repo.apply_remote(page["changes"], int(page["cursor"]))
            report.pages += 1
            report.applied += result.applied_rows
            report.conflicts += result.conflicts
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
