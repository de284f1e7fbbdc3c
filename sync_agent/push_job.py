"""Push: the outbox to the cloud, oldest first, in bounded batches.

A mutation leaves the outbox only after the cloud acknowledged it; a replay is
harmless (the cloud answers it with the stored result). A batch the cloud refuses
as a whole is split in halves until the one bad mutation is found; that one is
marked failed with the server's reason and the rest go on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.core.wire import MAX_BATCH_BYTES, MAX_BATCH_MUTATIONS
from app.store.sync.sync_repo import QueuedMutation, SyncRepo
from sync_agent.client import AuthError, CloudClient, RejectedError

BATCH = MAX_BATCH_MUTATIONS
BATCH_BYTES = MAX_BATCH_BYTES * 3 // 4  # room for the request envelope
# The practice's clinic is being dissolved: nothing is taken, nothing is wrong with the
# changes. They stay in the outbox (a revoke lets them go) and the reason is shown.
LOCKED = 423
# What clouds of earlier releases take, newest first; each answers 413 to more.
OLD_CLOUD_SIZES = ((2000, BATCH_BYTES), (500, 2 * 1024 * 1024 * 3 // 4))


@dataclass
class PushReport:
    sent: int = 0
    failed: int = 0


def push_all(repo: SyncRepo, client: CloudClient, report: PushReport | None = None) -> PushReport:
    """Push until the outbox is empty. TransientError and AuthError propagate.

    Batches go one at a time in outbox order, each after the cloud answered the one
    before. Only the local work overlaps the cloud's: the next batch is read while the
    cloud applies this one, and this one leaves the outbox while it applies the next.
    A batch the cloud refuses is read again from its start, and sent the same way: at
    a smaller size for a cloud of an earlier release (413), else at half its length,
    down to the one bad mutation, which is marked failed.
    """
    report = report or PushReport()
    size, max_bytes = BATCH, BATCH_BYTES
    halved: int | None = None  # the length a refused batch is bisected at

    def read(after: int) -> list[QueuedMutation]:
        return repo.outbox_batch(min(size, halved or size), max_bytes, after=after,
                                 shared_hlc=client.shared_hlc)

    with ThreadPoolExecutor(1, thread_name_prefix="push") as sender:
        batch = read(0)
        inflight = sender.submit(_send, client, batch) if batch else None
        while batch and inflight:
            following = read(batch[-1].seq)
            answer: dict[str, object] | None = None
            try:
                answer = inflight.result()
            except AuthError:
                raise
            except RejectedError as exc:
                if exc.status == LOCKED:
                    raise
                smaller = [s for s in OLD_CLOUD_SIZES if s[0] < size]
                again = True  # this batch goes again, from its first mutation
                if exc.status == 413 and smaller:
                    # A cloud not yet updated: its size from now on, this batch too.
                    size, max_bytes = smaller[0]
                elif len(batch) > 1:
                    halved = len(batch) // 2
                else:
                    repo.fail(batch[0].seq, exc.reason)
                    report.failed += 1
                    halved, again = None, False  # found: the rest go at the full size
                following = read(batch[0].seq - 1 if again else batch[0].seq)
            if answer is not None:
                _adopt_clamped(repo, client, batch, answer)
            inflight = sender.submit(_send, client, following) if following else None
            if answer is not None:
                repo.acknowledge(m.seq for m in batch)
                report.sent += len(batch)
            batch = following
    return report


def push_all_unless_locked(repo: SyncRepo, client: CloudClient) -> RejectedError | None:
    """push_all; the refusal when the practice's clinic is being dissolved (the outbox
    kept whole), for the caller to pull first and then say why."""
    try:
        push_all(repo, client)
    except RejectedError as exc:
        if exc.status != LOCKED:
            raise
        return exc
    return None


def _send(client: CloudClient, batch: list[QueuedMutation]) -> dict[str, object]:
    return client.push_raw([m.raw.encode() for m in batch])


def _adopt_clamped(
    repo: SyncRepo, client: CloudClient, batch: list[QueuedMutation], answer: dict[str, object]
) -> None:
    """A PC whose clock runs ahead gets its stamps clamped by the cloud; it takes the
    cloud's stamps for those fields, or the two copies would never compare equal."""
    results = answer.get("results")
    results = results if isinstance(results, list) else []
    if not any(isinstance(r, dict) and r.get("clamped") for r in results):
        return  # nearly always: no payload needs decoding
    sent = {p["id"]: p for p in (m.payload for m in batch)}
    for result in results:
        clamped = result.get("clamped") if isinstance(result, dict) else None
        if not clamped:
            continue
        payload = sent.get(result.get("id"))
        if not payload:
            continue
        server = result.get("stamps")
        if not isinstance(server, dict):
            # A cloud from before stamps came with the answer: ask for the record.
            record = client.record(payload["entity_id"])
            if record is None:
                continue
            server = {name: record["fields"][name]["hlc"]
                      for name in clamped if name in record["fields"]}
        pushed = payload["hlc"]  # or, in the shared form, the one stamp of every field
        repo.adopt_stamps(
            payload["entity"],
            payload["entity_id"],
            {name: (pushed if isinstance(pushed, str) else pushed[name], hlc)
             for name, hlc in server.items()},
        )
