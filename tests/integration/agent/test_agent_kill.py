"""The agent killed with SIGKILL at random moments while it sends 500 records and 50
images (DICOM among them): after restarts, nothing lost, nothing twice, every image on
the server with the clinic's SHA-256.

CI runs a few kills; `CHAIRSIDE_AGENT_KILLS=1000 CHAIRSIDE_AGENT_KILL_MAX_MB=50 pytest
--timeout=7200 tests/integration/agent/test_agent_kill.py` runs the long version (about
half an hour; the suite's per-test timeout would stop it).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from app.platform.secrets import SecretStore
from app.store.db import open_database
from app.store.services import Store
from app.store.sync.sync_repo import SyncRepo
from app.store.sync.uploads_repo import UploadsRepo
from sync_agent import connection
from tests.integration.agent.test_agent_process import NoKeyring
from tests.support.cloud_blobs import stored_plain_sha
from tests.support.waiting import wait_until
from tests.unit.cloud.support import register_pc, register_practice

ROOT = Path(__file__).resolve().parents[3]
KILLS = int(os.environ.get("CHAIRSIDE_AGENT_KILLS", "6"))
MAX_MB = int(os.environ.get("CHAIRSIDE_AGENT_KILL_MAX_MB", "6"))
RECORDS = 500
IMAGES = 50


def dicom_file(path: Path, megabytes: float, rng: random.Random) -> Path:
    side = max(64, int((megabytes * 1024 * 1024 / 2) ** 0.5))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.PatientName, ds.PatientBirthDate, ds.Modality = "Test^Patient", "19800101", "DX"
    ds.Rows = ds.Columns = side
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    pixels = np.random.default_rng(rng.randrange(2**32)).integers(0, 4096, (side, side))
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_killed_agent_loses_nothing_and_sends_nothing_twice(cloud, tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("CHAIRSIDE_AGENT_KILL_SEED", "20261125")))
    db = open_database(tmp_path / "clinic.chairside", SecretStore(NoKeyring()), allow_key_file=True)
    store = Store.over(db)
    http = httpx.Client(base_url=cloud.url, timeout=60)
    inst, password = register_practice(http, cloud.mail_dir, "kill@example.com")
    other = register_pc(http, inst, password, "reader")
    connection.register_device(db, SecretStore(NoKeyring()), cloud.url, inst, password)
    admin = store.users.create("admin", "Admin", "correct horse", "admin")
    v = admin.viewer()
    patients = []
    for i in range(RECORDS // 2):
        p = store.patients.create(v, {"first_name": f"K{i:03}", "last_name": "Kill"})
        store.records.add_visit(v, p.id, {"visit_date": "2026-05-01", "amount_paid": Decimal(i)})
        patients.append(p.id)
    files, uploads = {}, UploadsRepo(db)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(IMAGES):
        mb = rng.uniform(1, MAX_MB)
        if i % 5 == 0:
            path = dicom_file(folder / f"xray{i}.dcm", mb, rng)
        else:
            path = folder / f"photo{i}.bin"
            path.write_bytes(rng.randbytes(int(mb * 1024 * 1024)))
        sha = uploads.enqueue(path, patients[i], "xray" if i % 5 == 0 else "other", path.name)
        files[sha] = path

    cmd = [
        sys.executable,
        "-m",
        "sync_agent",
        "--database",
        str(db.path),
        "--tick",
        "0.1",
        "--pull-every",
        "0.5",
    ]
    for _ in range(KILLS):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))  # let it get somewhere, then pull the plug
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(
            lambda: SyncRepo(db).outbox_counts() == (0, 0) and uploads.counts().files == 0,
            timeout=600,
        )
    finally:
        proc.terminate()
        proc.wait(60)
    assert uploads.counts().failed == 0
    # Every record once on the server: its change log holds each row, none twice.
    changes = other.pull_all()
    created: dict[str, int] = {}
    for c in changes:
        if c["entity"] in ("patient", "visit") and "first_name" in c["fields"] | (
            {"first_name": 1} if c["entity"] == "visit" and "visit_date" in c["fields"] else {}
        ):
            created[c["entity_id"]] = created.get(c["entity_id"], 0) + 1
    assert len(created) == RECORDS
    assert set(created.values()) == {1}, "a record was created twice"
    summary = httpx.get(f"{cloud.url}/api/v1/reconcile", headers=other.headers).json()
    assert summary["patient"]["count"] == RECORDS // 2
    assert summary["visit"]["count"] == RECORDS // 2
    # Every image stored whole under its hash, and announced once.
    arrived = [c for c in changes if c["entity"] == "image"]
    assert sorted(c["fields"]["sha256"]["value"] for c in arrived) == sorted(files)
    for sha, path in files.items():
        assert stored_plain_sha(cloud.data, sha) == (sha, path.stat().st_size)
    assert db.integrity_check() == "ok"
    http.close()
    db.close()
