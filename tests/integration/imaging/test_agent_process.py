"""The agent as its own process imports from the acquisition folder: no app, no server."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from app.imaging import acquisition
from app.platform.secrets import SecretStore
from app.store.db import open_database
from app.store.images.acquisition_repo import AcquisitionRepo
from app.store.images.images_repo import ImagesRepo
from app.store.services import Store
from tests.integration.agent.test_agent_process import NoKeyring
from tests.support.waiting import wait_until
from tests.unit.imaging import samples

ROOT = Path(__file__).resolve().parents[3]


def test_agent_process_files_dropped_images_with_the_app_closed(tmp_path: Path) -> None:
    db = open_database(tmp_path / "xray-room.chairside", SecretStore(NoKeyring()),
                       allow_key_file=True)
    store = Store.over(db)
    admin = store.users.create("admin", "Admin", "correct horse", "admin")
    patient = store.patients.create(admin.viewer(), {"first_name": "Aylin", "last_name": "Kaya",
                                                     "gender": "female"})
    drop = tmp_path / "sensor"
    drop.mkdir()
    acquisition.save_settings(db.path, acquisition.FolderSettings(drop))
    AcquisitionRepo(db).start(admin.viewer(), patient.id, new_record="Bitewings")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync_agent", "--database", str(db.path), "--tick", "0.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        samples.dicom_xray(drop / "BW_left.dcm", name="KAYA^AYLIN", birth="")
        samples.xray_tiff(drop / "BW_right.tif")
        wait_until(lambda: len(list((drop / "imported").glob("*"))) == 2
                   if (drop / "imported").exists() else False, timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    [group] = ImagesRepo(db).by_record(admin.viewer(), patient.id)
    assert group.visit_name == "Bitewings"
    assert sorted(i.filename for i in group.images) == ["BW_left.dcm", "BW_right.tif"]
    assert all(i.present and i.kind == "xray" for i in group.images)
    db.close()
