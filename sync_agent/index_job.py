"""Search index: once at the agent's start, the patients a pull cut short (the agent
killed after a batch) left unindexed are indexed, offline too, so that the app's
search finds them."""

from __future__ import annotations

from dataclasses import dataclass

from app.store.sync.sync_repo import SyncRepo


@dataclass(frozen=True, slots=True)
class IndexReport:
    indexed: int = 0  # patients

    def describe(self) -> str:
        return f"{self.indexed} patients indexed after an unfinished pull" if self.indexed else ""


class IndexJob:
    name = "search index"

    def __init__(self, sync: SyncRepo) -> None:
        self.sync = sync
        self.checked = False

    def prepare(self) -> str | None:
        return "checked at the start already" if self.checked else None

    def run(self) -> IndexReport:
        self.checked = True  # once, even when it fails: a pull builds it too
        return IndexReport(self.sync.finish_index())
