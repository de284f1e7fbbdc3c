"""Push reads the next batch while the cloud applies the one before, yet the cloud still
gets a PC's changes one batch at a time, in outbox order, each once; a batch the cloud
did not take leaves the batch read ahead where it was, waiting in the outbox."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from app.platform.secrets import SecretStore
from app.store.models import Visit
from sync_agent import connection
from sync_agent.client import CloudClient, RejectedError, TransientError
from sync_agent.push_job import BATCH, BATCH_BYTES, LOCKED, push_all
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC
from tests.integration.agent.test_uploads import new_patient
from tests.integration.cloud.conftest import Server

# How long a send waits to see the next batch read meanwhile: it is read at once when
# the two overlap, so this bounds only a failing run.
PATIENCE_S = 10.0


def queue_visits(pc: PC, n: int) -> list[str]:
    """n new visits in the outbox; the mutation ids waiting, in outbox order."""
    patient = new_patient(pc)
    with pc.store.db.write() as s:
        for i in range(n):
            s.add(Visit(patient_id=patient, visit_date="2026-03-02", name=f"Visit {i}"))
    return [m.payload["id"] for m in pc.repo.outbox_batch(10 * n, 1000 * BATCH_BYTES)]


def client_of(pc: PC) -> CloudClient:
    saved = connection.load(pc.store.db, SecretStore(_KEYRING))
    assert saved is not None
    return saved.client()


def changes_per_mutation(cloud: Server, ids: list[str]) -> dict[str, int]:
    with sqlite3.connect(cloud.data / "cloud.sqlite3") as conn:
        rows = conn.execute(
            "SELECT mutation_id, count(*) FROM changes WHERE mutation_id IN "
            f"({','.join('?' * len(ids))}) GROUP BY mutation_id", ids,
        ).fetchall()
    return dict(rows)


def test_batches_go_one_at_a_time_in_order_while_the_next_is_read(
    clinic: Callable[[int], list[PC]], cloud: Server, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (pc,) = clinic(1)
    waiting = queue_visits(pc, 2 * BATCH + 100)
    read_ahead = threading.Event()
    outbox_batch = type(pc.repo).outbox_batch

    def reading(self: Any, limit: int, max_bytes: int, after: int = 0,
                shared_hlc: bool = False) -> Any:
        if after:
            read_ahead.set()
        return outbox_batch(self, limit, max_bytes, after, shared_hlc)

    in_flight = 0
    lock = threading.Lock()
    sent: list[list[str]] = []
    overlapped: list[bool] = []
    push_raw = CloudClient.push_raw

    def sending(self: CloudClient, raws: list[bytes]) -> dict[str, Any]:
        nonlocal in_flight
        with lock:
            in_flight += 1
            assert in_flight == 1, "two batches were on the wire at once"
        try:
            sent.append([orjson.loads(raw)["id"] for raw in raws])
            answer = push_raw(self, raws)
            # Held until the next batch was read, as a slow cloud would hold it.
            overlapped.append(read_ahead.wait(PATIENCE_S))
            read_ahead.clear()
            return answer
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(type(pc.repo), "outbox_batch", reading)
    monkeypatch.setattr(CloudClient, "push_raw", sending)
    report = push_all(pc.repo, client_of(pc))

    assert [i for batch in sent for i in batch] == waiting  # in order, each once
    assert len(sent) >= 3 and report.sent == len(waiting)
    assert all(overlapped[:-1]), "the next batch was read only after the cloud answered"
    assert pc.repo.outbox_counts() == (0, 0)
    assert changes_per_mutation(cloud, waiting) == dict.fromkeys(waiting, 1)


@pytest.mark.parametrize("trouble", [
    TransientError("no connection to the server"),
    RejectedError(LOCKED, "the clinic is being dissolved"),
], ids=["offline", "locked"])
def test_a_batch_not_taken_leaves_the_batch_read_ahead_waiting(
    clinic: Callable[[int], list[PC]], cloud: Server, monkeypatch: pytest.MonkeyPatch,
    trouble: Exception,
) -> None:
    (pc,) = clinic(1)
    waiting = queue_visits(pc, 2 * BATCH + 100)
    calls = 0
    first: list[int] = []
    push_raw = CloudClient.push_raw

    def second_fails(self: CloudClient, raws: list[bytes]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise trouble
        first.append(len(raws))
        return push_raw(self, raws)

    monkeypatch.setattr(CloudClient, "push_raw", second_fails)
    with pytest.raises(type(trouble)):
        push_all(pc.repo, client_of(pc))

    assert calls == 2, "a batch went after the one the cloud did not take"
    left = [m.payload["id"] for m in pc.repo.outbox_batch(10 * BATCH, 1000 * BATCH_BYTES)]
    taken = first[0]
    assert left == waiting[taken:]  # the first batch gone, nothing else, nothing failed
    assert pc.repo.outbox_counts() == (len(waiting) - taken, 0)
    assert changes_per_mutation(cloud, waiting) == dict.fromkeys(waiting[:taken], 1)

    monkeypatch.setattr(CloudClient, "push_raw", push_raw)
    push_all(pc.repo, client_of(pc))
    assert pc.repo.outbox_counts() == (0, 0)
    assert changes_per_mutation(cloud, waiting) == dict.fromkeys(waiting, 1)


@pytest.mark.parametrize("limit", [2000, 500], ids=["previous-release", "older"])
def test_a_cloud_of_an_earlier_release_gets_the_batches_it_takes(
    clinic: Callable[[int], list[PC]], cloud: Server, monkeypatch: pytest.MonkeyPatch,
    limit: int,
) -> None:
    """An earlier cloud answers 413 to a batch over its limit: the PC steps down to the
    sizes earlier releases took, and every change goes up once, in order."""
    (pc,) = clinic(1)
    waiting = queue_visits(pc, BATCH + 100)
    sent: list[list[str]] = []
    push_raw = CloudClient.push_raw

    def earlier_cloud(self: CloudClient, raws: list[bytes]) -> dict[str, Any]:
        if len(raws) > limit:
            raise RejectedError(413, f"a batch holds at most {limit} mutations")
        sent.append([orjson.loads(r)["id"] for r in raws])
        return push_raw(self, raws)

    monkeypatch.setattr(CloudClient, "push_raw", earlier_cloud)
    report = push_all(pc.repo, client_of(pc))

    assert [i for batch in sent for i in batch] == waiting  # in order, each once
    assert max(len(batch) for batch in sent) == limit
    assert report.sent == len(waiting) and report.failed == 0
    assert pc.repo.outbox_counts() == (0, 0)
    assert changes_per_mutation(cloud, waiting) == dict.fromkeys(waiting, 1)
