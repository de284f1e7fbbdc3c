"""Pulling from a cloud that does not know the agent's large pages yet."""

from __future__ import annotations

from typing import Any

import pytest

from app.store.sync.sync_repo import SyncRepo
from sync_agent.client import RejectedError
from sync_agent.pull_job import OLD_CLOUD_PAGE, PAGE, pull_all


class Cloud:
    """Answers three empty pages in turn; refuses a page larger than `limit`."""

    def __init__(self, limit: int, status: int = 422) -> None:
        self.limit, self.status = limit, status
        self.asked: list[tuple[int, int]] = []

    def pull(self, after: int, limit: int, conflicts_after: int | None = None) -> dict[str, Any]:
        self.asked.append((after, limit))
        if limit > self.limit:
            raise RejectedError(self.status, "limit: Input should be less than or equal to "
                                f"{self.limit}")
        return {"changes": [], "cursor": after + 1, "more": after < 2}

    def conflicts(self, after: int, limit: int = 200) -> dict[str, Any]:
        return {"conflicts": [], "cursor": after, "more": False}


def test_an_older_cloud_is_pulled_in_its_own_page_size(store) -> None:
    repo = SyncRepo(store.db)
    cloud = Cloud(limit=OLD_CLOUD_PAGE)
    report = pull_all(repo, cloud)  # type: ignore[arg-type]
    assert cloud.asked == [(0, PAGE), (0, OLD_CLOUD_PAGE), (1, OLD_CLOUD_PAGE),
                           (2, OLD_CLOUD_PAGE)]
    assert report.pages == 3 and repo.pull_cursor() == 3


def test_a_current_cloud_gets_large_pages_and_other_refusals_are_not_retried(store) -> None:
    repo = SyncRepo(store.db)
    cloud = Cloud(limit=PAGE)
    pull_all(repo, cloud)  # type: ignore[arg-type]
    assert {limit for _after, limit in cloud.asked} == {PAGE}
    refusing = Cloud(limit=0, status=400)
    with pytest.raises(RejectedError):
        pull_all(repo, refusing)  # type: ignore[arg-type]
    assert len(refusing.asked) == 1


def test_a_pull_that_brings_nothing_writes_nothing(store, monkeypatch) -> None:
    """An idle PC pulls every few seconds: with nothing new it does not take the write
    lock (the app's own writes would wait for it) nor wait for a commit to disk."""

    class Idle(Cloud):
        def pull(self, after: int, limit: int, conflicts_after: int | None = None
                 ) -> dict[str, Any]:
            self.asked.append((after, limit))
            return {"changes": [], "cursor": after, "more": False}

    repo = SyncRepo(store.db)
    writes: list[dict[str, Any]] = []
    write = store.db.write
    monkeypatch.setattr(store.db, "write", lambda **info: (writes.append(info), write(**info))[1])
    pull_all(repo, Idle(limit=PAGE))  # type: ignore[arg-type]
    assert writes == [] and repo.pull_cursor() == 0
    pull_all(repo, Cloud(limit=PAGE))  # type: ignore[arg-type]
    assert writes and repo.pull_cursor() == 3  # a moved cursor is kept


def test_small_pages_are_applied_together_with_the_last_ones_cursor(store, monkeypatch) -> None:
    """Each local transaction rewrites the index pages it touches: pages are gathered
    up to a batch, and the cursor stored is that of the last page applied."""
    repo = SyncRepo(store.db)
    writes: list[dict[str, Any]] = []
    write = store.db.write
    monkeypatch.setattr(store.db, "write", lambda **info: (writes.append(info), write(**info))[1])
    cloud = Cloud(limit=PAGE)
    report = pull_all(repo, cloud)  # type: ignore[arg-type]
    assert [after for after, _limit in cloud.asked] == [0, 1, 2]
    assert len(writes) == 1 and repo.pull_cursor() == 3 and report.pages == 3
