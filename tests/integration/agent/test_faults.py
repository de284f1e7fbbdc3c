"""Uploads and pushes through a link that breaks: cut bodies, resets, lost answers,
errors, silence, and a server killed mid-upload. Each file arrives whole; at most one
chunk is sent again per interruption; no thread is left behind."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from app.store.dto import PatientFilter
from app.store.settings_repo import SettingsRepo
from sync_agent.backoff import Backoff
from sync_agent.tus_client import TusClient
from tests.integration.agent.conftest import PC
from tests.integration.agent.test_uploads import (
    KIB,
    MIB,
    assert_stored,
    drain,
    fixed_chunks,
    new_patient,
    practice_pc,
    random_file,
)
from tests.integration.cloud.conftest import Server, free_port, start_server, stop_server
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.waiting import wait_until

CHUNK = 512 * KIB
SIZE = 4 * MIB  # eight chunks
TIMEOUT_S = 2.0  # the tests' read and connect timeouts (the default is 30 s)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture(autouse=True)
def _no_thread_left() -> Iterator[None]:
    # Threads of this test only: an in-process cloud of an earlier test in this worker
    # keeps its idle "upload-write" pool for the life of the process.
    before = set(threading.enumerate())
    yield
    for t in set(threading.enumerate()) - before:
        if t.name.startswith(("upload-", "proxy-")):
            t.join(10)
            assert not t.is_alive(), f"thread {t.name} did not end"


@pytest.fixture
def proxy(cloud: Server) -> Iterator[FaultProxy]:
    p = FaultProxy(port_of(cloud.url), socket_timeout_s=20, lifetime_s=120).start()
    yield p
    assert p.stop() == [], "proxy threads did not end"


def through(pc: PC, proxy: FaultProxy) -> None:
    """Send this PC's traffic through the proxy, in fixed chunks, with short timeouts."""
    SettingsRepo(pc.store.db).set("server_url", proxy.url)
    fixed_chunks(pc.agent, CHUNK)
    pc.agent.upload_job.connect_timeout_s = TIMEOUT_S
    pc.agent.upload_job.read_timeout_s = TIMEOUT_S


FAULTS = {
    "a body cut mid-chunk": [Fault("cut", after_bytes=200 * KIB, skip=2)],
    "a connection reset": [Fault("reset", skip=2)],
    "the answer lost after the server committed": [Fault("drop_response", skip=2)],
    "the last answer lost": [Fault("drop_response", skip=SIZE // CHUNK - 1)],
    "a server error": [Fault("status", status=500, skip=2)],
    "too many requests": [Fault("status", status=429, retry_after="1", skip=2)],
    "creation reset": [Fault("reset", method="POST", path="/files/")],
    "creation answer lost": [Fault("drop_response", method="POST", path="/files/")],
    "a cut, then the offset query reset": [
        Fault("cut", after_bytes=300 * KIB, skip=4), Fault("reset", method="HEAD"),
    ],
    "three faults in a row": [
        Fault("cut", after_bytes=100 * KIB, skip=1), Fault("status", status=503),
        Fault("drop_response"),
    ],
}


@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
def test_an_upload_completes_through_the_fault(
    clinic: Callable[[int], list[PC]], cloud: Server, proxy: FaultProxy, tmp_path: Path,
    faults: list[Fault],
) -> None:
    (pc,) = clinic(1)
    through(pc, proxy)
    f = random_file(tmp_path, "image.bin", SIZE)
    pc.agent.uploads.enqueue(f, new_patient(pc), "cbct")
    proxy.inject(*faults)
    drain(pc.agent)
    assert_stored(cloud, f)
    assert proxy.pending_faults() == 0, "a fault never struck"
    assert len(proxy.stats.applied) == len(faults)
    resent = proxy.stats.body_up["PATCH"] - SIZE
    assert 0 <= resent <= len(faults) * CHUNK, f"{resent} bytes sent again"
    if all(f.kind != "cut" for f in faults):
        assert resent == 0  # a lost answer is asked about (HEAD), not sent again


def test_a_silent_link_is_noticed_and_the_upload_goes_on(
    clinic: Callable[[int], list[PC]], cloud: Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    assert max(TusClient("http://127.0.0.1:1", None).timeout) <= 30  # the default bound
    (pc,) = clinic(1)
    through(pc, proxy)
    f = random_file(tmp_path, "image.bin", SIZE)
    pc.agent.uploads.enqueue(f, new_patient(pc), "cbct")
    stall = Fault("stall", after_bytes=100 * KIB, skip=1, stall_s=60)
    proxy.inject(stall)
    drain(pc.agent)
    assert_stored(cloud, f)
    assert stall.noticed_after_s is not None and stall.noticed_after_s < 30
    assert proxy.stats.body_up["PATCH"] - SIZE <= CHUNK


def test_periodic_cuts_cost_at_most_a_chunk_each(
    clinic: Callable[[int], list[PC]], cloud: Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    through(pc, proxy)
    size = 6 * MIB
    f = random_file(tmp_path, "image.bin", size)
    pc.agent.uploads.enqueue(f, new_patient(pc), "cbct")
    proxy.cut_every(MIB + 100 * KIB)
    drain(pc.agent)
    assert_stored(cloud, f)
    cuts = proxy.stats.periodic_cuts
    assert cuts >= 3
    assert proxy.stats.body_up["PATCH"] - size <= cuts * CHUNK


def test_a_push_whose_answer_was_lost_is_replayed_harmlessly(
    clinic: Callable[[int], list[PC]], cloud: Server, proxy: FaultProxy
) -> None:
    a, b = clinic(2)
    through(a, proxy)
    v = a.admin.viewer()
    p = a.store.patients.create(v, {"first_name": "Once", "last_name": "Only"})
    visit = a.store.records.add_visit(
        v, p.id, {"visit_date": "2026-03-04", "amount_paid": Decimal("9")}
    )
    proxy.inject(Fault("drop_response", method="POST", path="/api/v1/push"))
    a.agent.sync_once(forced=True)
    assert proxy.stats.applied == ["drop_response"]
    assert a.agent.last_error is not None
    assert a.repo.outbox_counts() == (2, 0)  # not acknowledged: it goes again
    a.sync()
    assert a.repo.outbox_counts() == (0, 0)
    assert proxy.stats.requests["POST"] == 2
    b.sync()
    found = b.store.patients.search(b.admin.viewer(), PatientFilter(query="Only"))
    assert [r.display_name for r in found] == ["Once Only"]
    assert len(b.store.records.visits(b.admin.viewer(), p.id)) == 1
    with sqlite3.connect(cloud.data / "cloud.sqlite3") as conn:
        counts = dict(conn.execute(
            "SELECT entity_id, count(*) FROM changes WHERE entity_id IN (?, ?) GROUP BY entity_id",
            (p.id, visit.id),
        ).fetchall())
    assert counts == {p.id: 1, visit.id: 1}


# The server killed mid-upload ----------------------------------------------------------
def test_the_server_killed_mid_chunk_and_restarted_loses_nothing(
    tmp_path: Path, _template_db: tuple[Path, str]
) -> None:
    data, port = tmp_path / "cloud-data", free_port()
    server = start_server(data, port=port)
    pc = None
    proxy = FaultProxy(port, socket_timeout_s=20, lifetime_s=120).start()
    try:
        pc = practice_pc(server, tmp_path, _template_db)
        through(pc, proxy)
        f = random_file(tmp_path, "image.bin", SIZE)
        sha = pc.agent.uploads.enqueue(f, new_patient(pc), "cbct")
        stall = Fault("stall", after_bytes=200 * KIB, skip=3, stall_s=60)
        proxy.inject(stall)
        killer_done = threading.Event()

        def kill_when_stalled() -> None:
            try:
                wait_until(lambda: stall.applied_at is not None, 15,
                           message="the proxy to stall the fourth chunk")
                server.proc.kill()  # with part of the fourth chunk in the server
                server.proc.wait(10)
            finally:
                killer_done.set()

        killer = threading.Thread(target=kill_when_stalled, name="proxy-killer")
        killer.start()
        pc.agent.sync_once(forced=True)
        killer.join(20)
        assert killer_done.is_set() and server.proc.returncode is not None
        assert pc.agent.last_error is not None  # the agent saw the server go
        row = pc.agent.uploads.get(sha)
        assert row is not None and row.status == "pending" and row.offset == 3 * CHUNK

        server = start_server(data, port=port)
        drain(pc.agent)
        assert_stored(server, f)
        report = pc.agent.upload_job.last_report
        assert report is not None and report.sent_bytes == SIZE - 3 * CHUNK
    finally:
        assert proxy.stop() == []
        if pc is not None:
            pc.store.db.close()
        stop_server(server)


def test_an_upload_that_does_not_move_says_so_in_words_then_goes_on(
    clinic: Callable[[int], list[PC]], cloud: Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    through(pc, proxy)
    pc.agent.upload_job.stalled_after_s = 0.0  # "for minutes", made instant
    f = random_file(tmp_path, "image.bin", SIZE)
    sha = pc.agent.uploads.enqueue(f, new_patient(pc), "cbct")
    proxy.inject(*[Fault("status", status=503, skip=2)] + [Fault("status", status=503)] * 2)
    notes: list[str | None] = []
    texts: list[str] = []
    note = pc.agent.uploads.note

    def seen_note(upload_id: int, text: str | None) -> None:
        notes.append(text)
        note(upload_id, text)

    pc.agent.uploads.note = seen_note  # type: ignore[method-assign]
    publish = pc.agent._upload_progress
    pc.agent.upload_job.on_progress = lambda p: (texts.append(p.text or ""), publish(p))
    drain(pc.agent)
    assert_stored(cloud, f)
    words = "the connection is too slow or keeps dropping: 1.0 MB of 4.0 MB sent, retrying"
    assert words in notes, notes  # in the upload list, while it waited
    assert any(words in t for t in texts), texts  # and in the status bar
    assert notes[-1] is None  # once it moved on, the words went
    row = pc.agent.uploads.get(sha)
    assert row is not None and (row.status, row.last_error) == ("done", None)


class _Longest(random.Random):
    """Jitter that always draws the longest wait."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_a_stuck_upload_backs_off_alone_while_records_keep_flowing(
    clinic: Callable[[int], list[PC]], cloud: Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    through(pc, proxy)
    pc.agent.upload_job.max_failures = 2
    # The wait at its longest: with its jitter, a first wait may be a few milliseconds,
    # over before the next sync below on a slow machine, and the image would rightly go.
    pc.agent.transfer_backoff = Backoff(base_s=30.0, cap_s=60.0, rng=_Longest())
    f = random_file(tmp_path, "image.bin", SIZE)
    pc.agent.uploads.enqueue(f, new_patient(pc), "cbct")
    proxy.inject(*[Fault("status", status=503)] * 4)
    pc.agent.sync_once(forced=False)  # the record goes up; the image fails twice
    assert pc.repo.outbox_counts()[0] == 0
    assert pc.agent.last_error is not None and "images wait" in pc.agent.last_error
    assert "503" not in pc.agent.last_error
    assert pc.agent.next_transfer > pc.agent.now()  # the image waits its turn ...
    before = proxy.stats.requests["PATCH"]
    new_patient(pc)
    pc.agent.sync_once(forced=False)  # ... and a change written meanwhile does not
    assert pc.repo.outbox_counts()[0] == 0
    assert proxy.stats.requests["PATCH"] == before
    assert pc.agent.uploads.counts().files == 1
    assert "images wait" in (pc.agent.last_error or "")  # still said while it waits
    drain(pc.agent)
    assert_stored(cloud, f)
    assert pc.agent.last_error is None
