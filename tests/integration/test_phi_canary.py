"""PHI canaries: patient data put in through the app and the acquisition folder must not
be readable in any file the PC keeps — only the encrypted database and the encrypted
image store hold it, and those show nothing either.

Every canary is a unique string; every file under the test's folders (the data and
config folders, the database and its WAL, the logs) is read as bytes and searched for
each canary as UTF-8 (any case), UTF-16 (both byte orders) and base64 (all three
alignments). The acquisition folder itself is the device's and is not scanned.
"""

from __future__ import annotations

import base64
import logging
import secrets
import traceback
from pathlib import Path

import pydicom

from app.core import logsafe
from app.imaging.thumbnails import ThumbnailCache
from app.store.images.acquisition_repo import AcquisitionRepo
from app.store.images.images_repo import ImagesRepo
from sync_agent.acquisition_job import AcquisitionJob
from tests.unit.imaging import samples


def _word(field: str) -> str:
    letters = "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(10))
    return f"Kanari{field.replace('_', '').title()}{letters}"


def _forms(canary: str) -> list[bytes]:
    raw = canary.encode()
    forms = [raw, canary.lower().encode(), canary.upper().encode(),
             canary.encode("utf-16-le"), canary.encode("utf-16-be")]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        forms.append(encoded[4 if pad else 0:-4])  # the quartets of the canary alone
    return forms


def _hits(folder: Path, canaries: dict[str, str], skip: Path) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if skip in path.parents:
            continue
        data = path.read_bytes()
        lowered = data.lower()
        for field, canary in canaries.items():
            if any(f in data or f.lower() in lowered for f in _forms(canary)):
                found.append(f"{field} in {path.relative_to(folder)}")
    return found


def test_no_patient_data_is_readable_in_any_file_the_pc_keeps(store, admin, tmp_path,
                                                              db_path) -> None:
    data_dir = tmp_path / "data"
    log_file = data_dir / "logs" / "agent.log"
    log_file.parent.mkdir(parents=True)
    handler = logsafe.protect(logging.FileHandler(log_file, encoding="utf-8"))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        v = admin.viewer()
        text = ("id_number", "insurance_card_number", "card_number", "address", "note",
                "past_medical_history", "diseases", "medications", "oral_habits",
                "allergies")
        canaries = {f: _word(f) for f in ("first_name", "last_name", *text)}
        digits = "".join(secrets.choice("0123456789") for _ in range(6))
        canaries["email"] = f"kanari{digits}@example.com"
        fields = {**canaries, "gender": "female", "birth_date": "1971-05-09",
                  "mobile": f"+44 7700 9{digits[:5]}"}
        patient = store.patients.create(v, fields)
        canaries["mobile"] = f"77009{digits[:5]}"
        canaries["visit"] = _word("visit")
        visit = store.records.add_visit(v, patient.id, {"visit_date": "2026-03-01",
                                                        "name": canaries["visit"]})

        # A sensor's DICOM whose header names the patient (and holds an ID), through the acquisition
        # folder; and a damaged one whose file name does, which fails and is logged.
        drop = tmp_path / "drop"
        drop.mkdir()
        dicom_name = f"{canaries['last_name']}^{canaries['first_name']}"
        xray = samples.dicom_xray(drop / "bitewing.dcm", name=dicom_name, birth="19710509")
        ds = pydicom.dcmread(xray)
        ds.PatientID = canaries["id_number"]
        ds.save_as(xray)
        canaries["file_name"] = _word("filename")
        (drop / f"{canaries['file_name']} pano.dcm").write_bytes(b"DICM but not really" * 9)
        AcquisitionRepo(store.db).start(v, patient.id, visit_id=visit.id)
        t = [0.0]
        job = AcquisitionJob(store.db, drop, settle_s=1, clock=lambda: t[0])
        job.run()
        t[0] += 2
        report = job.run()
        assert (report.imported, report.failed) == (1, 1)
        # The practice sees it: the image is in the record, with its thumbnail.
        repo = ImagesRepo(store.db)
        [image] = [i for g in repo.by_record(v, patient.id) for i in g.images]
        png = ThumbnailCache(repo.files).png(image.sha256, name=image.filename)
        assert png.startswith(b"\x89PNG")
        assert repo.files.read_bytes(image.sha256)[128:132] == b"DICM"
        # Failures whose exceptions carry patient data, bare: logged with the traceback
        # by the agent, and as the app's background operations log theirs (ops.py),
        # into the app's own log file.
        from app.ui.shell import application

        application._log_to_file()
        try:
            raise ValueError(f"could not save {canaries['email']} for {canaries['last_name']}")
        except ValueError as exc:
            logging.getLogger("chairside.test").exception("saving failed")
            details = "".join(traceback.format_exception(exc))
        logging.getLogger("chairside.ops").error("%s failed: %s", "saving a patient", details)
        store.db.close()
    finally:
        for h in list(logging.getLogger("chairside").handlers):
            if isinstance(h, logging.FileHandler):
                logging.getLogger("chairside").removeHandler(h)
                h.close()
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    log_text = log_file.read_text()
    assert "saving failed" in log_text and "ValueError" in log_text  # the log was written
    app_log = (data_dir / "logs" / "chairside.log").read_text()
    assert "saving a patient failed" in app_log and "ValueError" in app_log
    assert data_dir in db_path.parents or db_path.parent == tmp_path
    assert _hits(tmp_path, canaries, skip=drop) == []
    # The scan does see plain data: the device's own copy in the acquisition folder.
    seen = _hits(drop, canaries, skip=tmp_path / "nothing")
    assert any(h.startswith("first_name in imported") for h in seen), seen
