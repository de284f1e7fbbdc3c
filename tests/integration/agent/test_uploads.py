"""Images travel to a real cloud on loopback over tus: whole, once, resumed."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.core.ids import new_id
from app.platform.secrets import SecretStore
from app.store.db import open_database
from app.store.models import Upload
from app.store.services import Store
from app.store.sync.uploads_repo import UploadCounts
from sync_agent import connection
from sync_agent.runner import Agent
from sync_agent.tus_client import TusClient
from sync_agent.upload_job import PROGRESS_EVERY_S
from sync_agent.upload_pace import ChunkSizer
from sync_agent.upload_run import UploadProgress
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC, new_pc
from tests.integration.cloud.conftest import Server
from tests.support.cloud_blobs import blob_path, stored_plain_sha
from tests.unit.cloud.support import register_practice

KIB, MIB = 1024, 1024 * 1024


# Helpers shared with test_faults -------------------------------------------------------
def random_file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(MIB, left))
            f.write(block)
            left -= len(block)
    return path


def png_file(folder: Path, name: str = "photo.png") -> Path:
    path = folder / name
    Image.frombytes("RGB", (96, 64), os.urandom(96 * 64 * 3)).save(path, format="PNG")
    return path


def dicom_like_file(folder: Path, name: str = "scan.dcm", size: int = 300 * KIB) -> Path:
    """A DICOM part-10 shape: a 128-byte preamble, "DICM", then element bytes."""
    path = folder / name
    path.write_bytes(b"\0" * 128 + b"DICM" + os.urandom(size - 132))
    return path


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def blob(server: Server, sha: str) -> Path:
    return blob_path(server.data, sha)


def assert_stored(server: Server, path: Path) -> None:
    sha = sha_of(path)
    assert blob(server, sha).is_file(), f"{path.name} did not arrive"
    assert stored_plain_sha(server.data, sha) == (sha, path.stat().st_size)


def new_patient(pc: PC) -> str:
    fields = {"first_name": "Ada", "last_name": "Imaging"}
    return pc.store.patients.create(pc.admin.viewer(), fields).id


def drain(agent: Agent, rounds: int = 30) -> None:
    """Run the agent until nothing waits (each run is bounded; `rounds` bounds them)."""
    for _ in range(rounds):
        agent.sync_once(forced=True)
        if agent.uploads.counts().files == 0:
            return
    raise AssertionError(f"uploads still waiting: {agent.uploads.list_uploads()}; "
                         f"last error: {agent.last_error}")


def fixed_chunks(agent: Agent, size: int) -> None:
    agent.upload_job.sizer = ChunkSizer(start=size, low=size, high=size)


def stop_after_chunks(agent: Agent, n: int) -> None:
    """Stop the agent (between chunks) once `n` chunks were confirmed."""
    saved = agent.uploads.save_offset
    calls = []

    def save_offset(upload_id: int, offset: int) -> None:
        saved(upload_id, offset)
        calls.append(offset)
        if len(calls) >= n:
            agent.stop()

    agent.uploads.save_offset = save_offset  # type: ignore[method-assign]


def practice_pc(server: Server, folder: Path, template: tuple[Path, str]) -> PC:
    """A PC of a practice of its own (the `clinic` fixture makes one per test)."""
    folder.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        inst, password = register_practice(http, server.mail_dir, f"{new_id()[:8]}@example.com")
    store = new_pc("solo", folder, template)
    secrets = SecretStore(_KEYRING)
    connection.register_device(store.db, secrets, server.url, inst, password)
    admin = store.users.create("admin", "Admin", "correct horse", "admin")
    return PC("solo", store, Agent(store.db, secrets, tick_s=0.05), admin)


def reopen(pc: PC) -> Agent:
    """A new agent on the same database file, as after a restart of the PC."""
    path = pc.store.db.path
    pc.store.db.close()
    pc.store = Store.over(open_database(path, SecretStore(_KEYRING), create=False))
    pc.agent = Agent(pc.store.db, SecretStore(_KEYRING), tick_s=0.05)
    return pc.agent


# Tests ---------------------------------------------------------------------------------
def test_files_of_several_sizes_arrive_whole_small_first(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    files = [
        random_file(tmp_path, "cbct-part.bin", 5 * MIB),
        png_file(tmp_path),
        random_file(tmp_path, "scan.stl", 3 * MIB + 17),
        dicom_like_file(tmp_path),
    ]
    for f in files:
        assert pc.agent.uploads.enqueue(f, patient, "xray") == sha_of(f)
    assert pc.agent.uploads.counts().files == 4
    assert pc.agent.uploads.counts().bytes == sum(f.stat().st_size for f in files)

    claimed: list[int] = []
    claim = pc.agent.uploads.claim_next

    def record_claim():  # type: ignore[no-untyped-def]
        row = claim()
        if row is not None:
            claimed.append(row.size)
        return row

    pc.agent.uploads.claim_next = record_claim  # type: ignore[method-assign]
    seen: list[UploadProgress] = []
    when: list[float] = []
    publish = pc.agent._upload_progress

    def progress(p: UploadProgress) -> None:
        seen.append(p)
        when.append(time.monotonic())
        publish(p)

    pc.agent.upload_job.on_progress = progress
    # A slow link: small chunks, each confirmed after a pause, so progress is seen.
    fixed_chunks(pc.agent, 256 * KIB)
    save_offset, slow = pc.agent.uploads.save_offset, threading.Event()

    def slow_save_offset(upload_id: int, offset: int) -> None:
        slow.wait(0.04)
        save_offset(upload_id, offset)

    pc.agent.uploads.save_offset = slow_save_offset  # type: ignore[method-assign]
    drain(pc.agent)

    for f in files:
        assert_stored(cloud, f)
    assert claimed == sorted(claimed), "smaller files go first"
    rows = pc.agent.uploads.list_uploads(patient_id=patient)
    assert {r.status for r in rows} == {"done"} and len(rows) == 4
    assert all(r.progress == 1.0 and r.last_error is None for r in rows)
    assert pc.agent.upload_job.last_report is not None
    assert any(p.current and 0 <= p.done <= p.total for p in seen)
    assert seen[-1].current is None and seen[-1].waiting_files == 0
    # At most a few updates a second (the last of each run is not held back).
    gaps = [b - a for a, b in itertools.pairwise(when[:-1])]
    assert len(gaps) >= 2
    assert all(gap >= PROGRESS_EVERY_S * 0.9 for gap in gaps), gaps
    status = pc.agent.agent.status()
    assert (status.waiting_uploads, status.waiting_bytes, status.current_upload) == (0, 0, None)


def test_the_same_content_is_sent_once(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path
) -> None:
    a, b = clinic(2)
    patient = new_patient(a)
    first = random_file(tmp_path, "one.bin", 2 * MIB)
    copy = tmp_path / "copy.bin"
    copy.write_bytes(first.read_bytes())
    sha = a.agent.uploads.enqueue(first, patient, "intraoral_photo")
    assert a.agent.uploads.enqueue(copy, patient, "intraoral_photo", "copy.bin") == sha
    assert len(a.agent.uploads.list_uploads()) == 1
    drain(a.agent)
    assert a.agent.upload_job.last_report.sent_bytes == 2 * MIB  # type: ignore[union-attr]
    a.agent.uploads.enqueue(copy, patient, "intraoral_photo")
    drain(a.agent)
    assert a.agent.upload_job.last_report.sent_bytes == 0  # type: ignore[union-attr]

    # Another PC of the practice holds the same image: the server already has it.
    a.sync()
    b.sync()
    b.agent.uploads.enqueue(copy, patient, "intraoral_photo")
    drain(b.agent)
    report = b.agent.upload_job.last_report
    assert report is not None and (report.sent_bytes, report.already_stored) == (0, 1)
    assert b.agent.uploads.get(sha).status == "done"  # type: ignore[union-attr]
    assert_stored(cloud, first)


def test_a_restart_mid_upload_resumes_from_the_servers_offset(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    f = random_file(tmp_path, "large.bin", 6 * MIB)
    sha = pc.agent.uploads.enqueue(f, patient, "cbct")
    fixed_chunks(pc.agent, 512 * KIB)
    stop_after_chunks(pc.agent, 3)
    pc.agent.sync_once(forced=True)
    row = pc.agent.uploads.get(sha)
    assert row is not None and row.status == "pending" and row.url
    assert row.offset == 3 * 512 * KIB
    assert not blob(cloud, sha).exists()
    # As after a crash that lost the last offsets: the row is left in flight at 0.
    with pc.store.db.write() as s:
        s.get(Upload, row.id).status, s.get(Upload, row.id).offset = "uploading", 0  # type: ignore[union-attr]

    agent = reopen(pc)
    fixed_chunks(agent, 512 * KIB)
    drain(agent)
    assert_stored(cloud, f)
    report = agent.upload_job.last_report
    assert report is not None and report.sent_bytes == 6 * MIB - 3 * 512 * KIB
    assert agent.uploads.get(sha).url == row.url  # type: ignore[union-attr]


def _expire(cloud: Server, url: str) -> None:
    upload_id = url.rstrip("/").rsplit("/", 1)[1]
    with sqlite3.connect(cloud.data / "cloud.sqlite3") as conn:
        n = conn.execute(
            "UPDATE uploads SET expires_at = ? WHERE id = ?",
            ((dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(tzinfo=None), upload_id),
        ).rowcount
    assert n == 1


@pytest.mark.parametrize("how", ["removed", "expired"])
def test_an_upload_the_server_forgot_is_started_anew(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path, how: str
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    f = random_file(tmp_path, "forgotten.bin", 3 * MIB)
    sha = pc.agent.uploads.enqueue(f, patient, "cbct")
    fixed_chunks(pc.agent, 512 * KIB)
    stop_after_chunks(pc.agent, 2)
    pc.agent.sync_once(forced=True)
    old = pc.agent.uploads.get(sha)
    assert old is not None and old.url and old.offset == MIB
    if how == "removed":
        conn = connection.load(pc.store.db, SecretStore(_KEYRING))
        assert conn is not None
        TusClient(conn.server_url, conn.token).terminate(old.url)
    else:
        _expire(cloud, old.url)

    agent = reopen(pc)
    drain(agent)
    assert_stored(cloud, f)
    row = agent.uploads.get(sha)
    assert row is not None and row.url != old.url
    assert agent.upload_job.last_report.sent_bytes == 3 * MIB  # type: ignore[union-attr]


def test_a_file_that_changed_on_disk_fails_with_the_reason_and_is_not_sent(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    good = png_file(tmp_path, "good.png")
    bad = random_file(tmp_path, "bad.bin", 700 * KIB)
    sha = pc.agent.uploads.enqueue(bad, patient, "xray")
    pc.agent.uploads.enqueue(good, patient, "xray")
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"tampered")
    pc.agent.sync_once(forced=True)
    row = pc.agent.uploads.get(sha)
    assert row is not None and row.status == "failed"
    assert "no longer matches the SHA-256" in (row.last_error or "")
    assert pc.agent.uploads.counts() == UploadCounts(0, 0, 1)
    assert pc.agent.upload_job.last_report.sent_bytes == good.stat().st_size  # type: ignore[union-attr]
    assert not blob(cloud, sha).exists() and not blob(cloud, sha_of(bad)).exists()
    assert_stored(cloud, good)


def test_a_file_the_server_refuses_fails_alone(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path,
    _template_db: tuple[Path, str],
) -> None:
    (a,) = clinic(1)
    b = practice_pc(cloud, tmp_path / "other", _template_db)
    theirs = new_patient(a)
    a.sync()
    wrong = png_file(tmp_path, "wrong.png")
    right = dicom_like_file(tmp_path, "right.dcm")
    sha = b.agent.uploads.enqueue(wrong, theirs, "xray")
    b.agent.uploads.enqueue(right, new_patient(b), "xray")
    b.agent.sync_once(forced=True)
    assert b.agent.last_error is None  # the device is fine; one file is not
    row = b.agent.uploads.get(sha)
    assert row is not None and row.status == "failed"
    assert "not a patient of this installation" in (row.last_error or "")
    assert_stored(cloud, right)
    assert not blob(cloud, sha).exists()
    b.store.db.close()


def test_a_large_file_goes_in_slices_without_sending_anything_twice(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    f = random_file(tmp_path, "series.bin", 4 * MIB)
    pc.agent.uploads.enqueue(f, new_patient(pc), "cbct")
    fixed_chunks(pc.agent, 256 * KIB)
    pc.agent.upload_slice_s = 0.2
    save_offset, slow = pc.agent.uploads.save_offset, threading.Event()

    def slow_save_offset(upload_id: int, offset: int) -> None:
        slow.wait(0.05)
        save_offset(upload_id, offset)

    pc.agent.uploads.save_offset = slow_save_offset  # type: ignore[method-assign]
    sent, runs = 0, 0
    while pc.agent.uploads.counts().files and runs < 100:
        pc.agent.sync_once(forced=True)
        assert pc.agent.last_error is None
        sent += pc.agent.upload_job.last_report.sent_bytes  # type: ignore[union-attr]
        runs += 1
    assert_stored(cloud, f)
    assert runs > 1 and sent == 4 * MIB


def test_the_chunk_size_follows_the_link() -> None:
    sizer = ChunkSizer()
    assert sizer.size == 64 * KIB and sizer.speed is None  # the line is not known yet
    assert sizer.block() == 16 * KIB and not sizer.slow()
    sizer.record(64 * KIB, 0.001)  # a fast link: grow, at most twofold a step
    assert sizer.size == 128 * KIB
    for _ in range(20):
        sizer.record(sizer.size, 0.01)
    assert sizer.size == 32 * MIB  # the ceiling
    assert sizer.block() == MIB
    sizer.record(32 * MIB, 64.0)  # slow now: two seconds a MiB, aim at three seconds
    assert sizer.size == 1536 * KIB
    sizer.record(100 * KIB, 10.0)  # a short last chunk says little of the size
    assert sizer.size == 1536 * KIB
    for _ in range(10):
        sizer.shrink()
    assert sizer.size == 256 * KIB  # the floor a line of this speed sets

    poor = ChunkSizer()
    for _ in range(5):
        poor.record(poor.size, poor.size / (16 * KIB))  # 16 KiB/s
    assert poor.slow() and poor.block() == 16 * KIB
    assert poor.size == 48 * KIB  # three seconds of the line
    for _ in range(5):
        poor.shrink()
    assert poor.size == 16 * KIB  # what is re-sent after an interruption stays small
