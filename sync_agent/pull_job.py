"""Pull: the cloud's changes after our cursor, page by page, each page applied with
its cursor in one local transaction."""

from __future__ import annotations

from dataclasses import dataclass

from app.store.settings_repo import SettingsRepo
from app.store.sync_repo import SyncRepo, add_conflicts
from sync_agent.client import CloudClient

PAGE = 1000  # the most the cloud gives in one page


@dataclass
class PullReport:
    pages: int = 0
    applied: int = 0
    conflicts: int = 0


def pull_all(repo: SyncRepo, client: CloudClient, report: PullReport | None = None) -> PullReport:
    report = report or PullReport()
    cursor = repo.pull_cursor()
    while True:
        page = client.pull(cursor, PAGE)
        result = repo.apply_remote(page["changes"], int(page["cursor"]))
        report.pages += 1
        report.applied += result.applied_rows
        report.conflicts += result.conflicts
        cursor = result.cursor
        if not page.get("more"):
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
