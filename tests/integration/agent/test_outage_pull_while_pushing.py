"""After an outage a PC with a long outbox pulls the other PCs' changes while its own go
up, and a push that finds the PC's database busy with other writes goes on: the cloud
answers the batches sent again with their stored results, each change kept once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from app.store.db import BUSY_TIMEOUT_S
from app.store.models import Visit
from sync_agent import runner
from sync_agent.client import CloudClient
from sync_agent.push_job import BATCH
from tests.integration.agent.conftest import PC
from tests.integration.agent.test_push_pipeline import changes_per_mutation, queue_visits
from tests.integration.agent.test_two_pcs import names
from tests.integration.cloud.conftest import Server

# Long enough to tell "pulled meanwhile" from "pulled after the outbox": the other PC's
# change arrives within a second or two when the pull runs beside the push.
PATIENCE_S = 30.0
# How long the push's acknowledging write waits for the lock the test holds.
SHORT_WAIT_MS = 200


def offline_week(a: PC, b: PC) -> list[str]:
    """A's outbox several push batches long; B's new patient already on the cloud."""
    waiting = queue_visits(a, 2 * BATCH + 100)
    b.store.patients.create(b.admin.viewer(), {"first_name": "Brigitte", "last_name": "Otherdesk"})
    b.sync()
    return waiting


def visits(pc: PC) -> int:
    with pc.store.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Visit)) or 0)


def test_the_other_pcs_change_shows_before_the_own_outbox_is_empty(
    clinic: Callable[[int], list[PC]], cloud: Server, monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = clinic(2)
    waiting = offline_week(a, b)
    shown = threading.Event()
    outbox_when_shown: list[int] = []
    pull_all = runner.pull_all

    def pulling(repo: Any, client: CloudClient, *args: Any, **kwargs: Any) -> Any:
        report = pull_all(repo, client, *args, **kwargs)
        if repo is a.repo and not shown.is_set() and names(a, "Otherdesk"):
            outbox_when_shown.append(a.repo.outbox_counts()[0])
            shown.set()
        return report

    sent: list[int] = []
    push_raw = CloudClient.push_raw

    def held_push(self: CloudClient, raws: list[bytes]) -> dict[str, Any]:
        # The first batch waits for B's change, as a slow cloud would hold it: a PC that
        # pulls only after its outbox never shows it, and this waits in vain.
        if not sent:
            shown.wait(PATIENCE_S)
        sent.append(len(raws))
        return push_raw(self, raws)

    monkeypatch.setattr(runner, "pull_all", pulling)
    monkeypatch.setattr(CloudClient, "push_raw", held_push)
    a.sync()

    # Shown while none of A's own changes had gone yet.
    assert outbox_when_shown[:1] == [len(waiting)], "B's change waited for A's outbox"
    assert len(sent) >= 3  # the outbox really was several batches long
    assert names(a, "Otherdesk") == ["Brigitte Otherdesk"]
    assert a.repo.outbox_counts() == (0, 0)
    assert changes_per_mutation(cloud, waiting) == dict.fromkeys(waiting, 1)


def test_a_push_that_finds_the_database_busy_goes_on_and_nothing_is_doubled(
    clinic: Callable[[int], list[PC]], cloud: Server, monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = clinic(2)
    waiting = offline_week(a, b)
    db = a.store.db
    short = threading.local()

    # The write that acknowledges the first batch waits for the lock a short while
    # instead of ten seconds; every other write waits as it always does.
    def busy_wait(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        ms = SHORT_WAIT_MS if getattr(short, "on", False) else int(BUSY_TIMEOUT_S * 1000)
        dbapi_conn.execute(f"PRAGMA busy_timeout = {ms}")

    event.listen(db.writer, "checkout", busy_wait)
    release = threading.Event()
    held = threading.Event()

    def hold_write_lock() -> None:  # as the app writing at the desk would hold it
        with db.write() as s:
            s.connection()  # BEGIN IMMEDIATE: the write lock is ours until released
            held.set()
            release.wait(PATIENCE_S)

    busy: list[str] = []
    acknowledge = type(a.repo).acknowledge

    def acknowledging(self: Any, seqs: Any) -> None:
        if busy or self is not a.repo:
            return acknowledge(self, seqs)
        # The cloud has taken the first batch and answered: now the database is busy.
        holder = threading.Thread(target=hold_write_lock)
        holder.start()
        held.wait(PATIENCE_S)
        short.on = True
        try:
            acknowledge(self, seqs)
        except OperationalError as exc:
            busy.append(str(exc.orig))
            raise
        finally:
            short.on = False
            release.set()
            holder.join()

    sent: list[str] = []
    push_raw = CloudClient.push_raw

    def sending(self: CloudClient, raws: list[bytes]) -> dict[str, Any]:
        sent.extend(orjson.loads(raw)["id"] for raw in raws)
        return push_raw(self, raws)

    monkeypatch.setattr(type(a.repo), "acknowledge", acknowledging)
    monkeypatch.setattr(CloudClient, "push_raw", sending)
    try:
        a.sync()  # asserts the sync ended without trouble shown
    finally:
        event.remove(db.writer, "checkout", busy_wait)

    assert busy and "locked" in busy[0], "the push never met the database busy"
    assert len(busy) == 1
    # The batch taken but not noted went again, and the cloud kept each change once.
    assert sent.count(waiting[0]) == 2 and set(sent) == set(waiting)
    assert a.repo.outbox_counts() == (0, 0)
    assert changes_per_mutation(cloud, waiting) == dict.fromkeys(waiting, 1)
    assert names(a, "Otherdesk") == ["Brigitte Otherdesk"]
    # Nothing doubled on either PC either: every visit once, here and on the other PC.
    assert visits(a) == 2 * BATCH + 100
    b.sync()
    assert visits(b) == 2 * BATCH + 100
    assert b.repo.outbox_counts() == (0, 0)
