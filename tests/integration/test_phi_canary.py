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
from collections.abc import Callable
from pathlib import Path

import pydicom

from app.core import logsafe
from app.core.ids import new_id
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


def test_no_image_or_patient_data_is_readable_in_the_clouds_files_but_its_database(
        tmp_path: Path) -> None:
    """The cloud's side: records and a DICOM naming the patient go up (one upload
    refused for a wrong hash, one request failing inside the server), with the server's
    log written to a file at debug level. Its data folder then shows no canary outside
    its database — which holds the records by design and is protected by the operator
    (the server's disk or database encryption), not by the cloud itself."""
    import hashlib

    from fastapi.testclient import TestClient

    from cloud import logsafe as cloud_logsafe
    from cloud.config import Settings
    from cloud.main import create_app
    from tests.unit.cloud.support import patient as patient_change
    from tests.unit.cloud.support import register_pc, register_practice

    data_dir = tmp_path / "cloud"
    data_dir.mkdir()
    log_file = data_dir / "cloud.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    canaries = {f: _word(f) for f in ("first_name", "last_name", "id_number", "note")}
    settings = Settings(data_dir=data_dir, password_mail_interval_s=0)
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as http:
            cloud_logsafe.install()
            pc = register_pc(http, *register_practice(http, settings.mail_dir))
            pid = new_id()
            pc.push(patient_change(pc, pid, first_name=canaries["first_name"],
                                   last_name=canaries["last_name"],
                                   id_number=canaries["id_number"], note=canaries["note"]))
            xray = samples.dicom_xray(tmp_path / "x.dcm", name=(
                f"{canaries['last_name']}^{canaries['first_name']}"), birth="19710509")
            ds = pydicom.dcmread(xray)
            ds.PatientID = canaries["id_number"]
            ds.save_as(xray)
            data = xray.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            tus = {"Tus-Resumable": "1.0.0", **pc.headers}
            for claimed in (hashlib.sha256(b"not it").hexdigest(), sha):  # refused, then whole
                meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in (
                    ("sha256", claimed), ("patient_id", pid), ("kind", "xray"),
                    ("filename", f"{canaries['last_name']}.dcm")))
                r = http.post("/files/", headers={**tus, "Upload-Length": str(len(data)),
                                                  "Upload-Metadata": meta})
                assert r.status_code == 201, r.text
                r = http.patch(r.headers["Location"], content=data, headers={
                    **tus, "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": "0"})
                assert r.status_code == (204 if claimed == sha else 422), r.text
            got = http.get(f"/api/v1/images/{sha}", headers=pc.headers)
            assert hashlib.sha256(got.content).hexdigest() == sha  # the practice reads it
            # Another X-ray left half sent (its PC stopped mid-file): its part file, the
            # patient's name in its header, lies in the data folder until it resumes.
            ds.PatientBirthDate = "19710510"
            ds.save_as(xray)
            second = xray.read_bytes()
            meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in (
                ("sha256", hashlib.sha256(second).hexdigest()), ("patient_id", pid),
                ("kind", "xray"), ("filename", "second.dcm")))
            r = http.post("/files/", headers={**tus, "Upload-Length": str(len(second)),
                                              "Upload-Metadata": meta})
            half = len(second) // 2
            r = http.patch(r.headers["Location"], content=second[:half], headers={
                **tus, "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "0"})
            assert r.status_code == 204 and r.headers["Upload-Offset"] == str(half)
            assert len(list(settings.uploads_dir.glob("*.part"))) == 1
            # A request that fails inside the server with the patient's name in hand.
            http.app.state.blobs.size = _fails_with(canaries["last_name"])  # type: ignore[attr-defined]
            assert http.get(f"/api/v1/images/{sha}", headers=pc.headers).status_code == 500
            try:  # in process there is no uvicorn: log it as uvicorn logs a failed request
                http.app.state.blobs.size(sha)  # type: ignore[attr-defined]
            except RuntimeError:
                logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert "RuntimeError (message left out" in log_file.read_text()  # the log was written
    database = list(data_dir.glob("cloud.sqlite3*"))
    outside = [h for h in _hits(data_dir, canaries, skip=tmp_path / "nothing")
               if not any(h.endswith(p.name) for p in database)]
    assert outside == []
    # The scan does see plain data: the records in the server's database.
    assert any(h.startswith("first_name in cloud.sqlite3") for h in
               _hits(data_dir, canaries, skip=tmp_path / "nothing"))


def _fails_with(secret: str) -> Callable[[str], int | None]:
    def size(_sha: str) -> int | None:
        raise RuntimeError(f"could not size the image of {secret}")

    return size
