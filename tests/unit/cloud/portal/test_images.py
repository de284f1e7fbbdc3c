"""A doctor's images on the portal: thumbnails by visit, a full view (DICOM rendered
through its window), the original file byte for byte, every read audited; a record that
names another practice's file gets nothing."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from sqlalchemy import select

from app.core.ids import new_id
from cloud.portal.models import AuditEntry
from tests.unit.cloud.portal.support import (
    ADMIN_PW,
    DAY,
    Clinic,
    doctor_login,
    file_image,
    patient_login,
    picture,
    seed,
)
from tests.unit.cloud.support import PC


def _dicom() -> bytes:
    """A 64×64 16-bit X-ray whose window (center 1000, width 200) shows a bright square."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("x.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, \
        meta.MediaStorageSOPInstanceUID
    pixels = np.full((64, 64), 900, dtype=np.uint16)
    pixels[16:48, 16:48] = 1100
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 64, 64, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.WindowCenter, ds.WindowWidth = 1000, 200
    ds.PixelData = pixels.tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_images_by_visit_full_view_and_original(
        pc: PC, clinic: Clinic, stranger: PC, browser: Callable[[str], TestClient]) -> None:
    ann = clinic.patients["Ann"]
    visit = new_id()
    clinic.pc.push(clinic.pc.mutation("visit", visit, {
        "patient_id": ann, "visit_date": "2026-02-01", "procedure": "Check"}))
    photo = picture("red", (1600, 1200))
    xray = _dicom()
    in_visit = file_image(clinic, "Ann", photo, visit_id=visit, filename="smile.png")
    loose = file_image(clinic, "Ann", xray, kind="xray", filename="bw-left.dcm")
    http = browser("10.8.0.1")
    assert doctor_login(http, clinic.iid, "admin", ADMIN_PW).status_code == 303

    page = http.get(f"/doctor/patients/{ann}").text
    section = page[page.index('id="images"'):page.index('id="health"')]
    assert section.index("Visit of 2026-02-01") < section.index(in_visit) \
        < section.index("Not filed to a visit") < section.index(loose)

    thumb = Image.open(io.BytesIO(http.get(
        f"/doctor/patients/{ann}/images/{in_visit}/thumb").content))
    assert max(thumb.size) == 240 and thumb.getpixel((10, 10))[0] > 200  # red, small
    view = http.get(f"/doctor/patients/{ann}/images/{loose}")
    assert "X-ray" in view.text and 'id="download"' in view.text
    full = Image.open(io.BytesIO(http.get(
        f"/doctor/patients/{ann}/images/{loose}/full").content)).convert("L")
    assert full.getpixel((32, 32)) > 200 and full.getpixel((2, 2)) < 50  # the window
    original = http.get(f"/doctor/patients/{ann}/images/{loose}/original")
    assert original.content == xray
    assert 'filename="bw-left.dcm"' in original.headers["content-disposition"]

    # the same image under another patient's address, or unknown: nothing
    ben = clinic.patients["Ben"]
    assert http.get(f"/doctor/patients/{ben}/images/{loose}/original").status_code == 404
    assert http.get(f"/doctor/patients/{ann}/images/{new_id()}/thumb").status_code == 404

    # every read of an image is in the audit log, with the patient
    with http.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        rows = s.scalars(select(AuditEntry).where(AuditEntry.target == ann)).all()
    actions = [r.action for r in rows]
    for action in ("image_thumbnail", "image_view", "image_full", "image_download"):
        assert action in actions
    assert actions.count("image_refused") == 1

    # another practice files a record naming Ann's photo by its SHA-256: it gets nothing
    other = seed(stranger)
    sha = hashlib.sha256(photo).hexdigest()
    theirs = new_id()
    stranger.push(stranger.mutation("record_image", theirs, {
        "patient_id": other.patients["Ann"], "kind": "intraoral_photo", "sha256": sha,
        "filename": "x.png", "size": len(photo), "taken_at": f"{DAY}T09:00:00+00:00"}))
    thief = browser("10.8.0.2")
    assert doctor_login(thief, other.iid, "admin", ADMIN_PW).status_code == 303
    r = thief.get(f"/doctor/patients/{other.patients['Ann']}/images/{theirs}/original")
    assert r.status_code == 404 and r.content != photo


def test_patients_see_their_own_images_only_when_the_practice_allows_it(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    mine = file_image(clinic, "Ann", picture("red"), filename="mine.png")
    bens = file_image(clinic, "Ben", picture("green"), filename="bens.png")
    ann = browser("10.8.1.1")
    assert patient_login(ann, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code \
        == 303
    assert 'id="images"' not in ann.get("/patient/me").text
    assert ann.get(f"/patient/me/images/{mine}/original").status_code == 404

    assert clinic.api("PATCH", "/settings", json={"patient_images_enabled": True})[
        "patient_images_enabled"] is True
    page = ann.get("/patient/me").text
    assert f'href="/patient/me/images/{mine}"' in page and bens not in page
    assert ann.get(f"/patient/me/images/{mine}/original").content == picture("red")
    assert "/patient/me/images/" in ann.get(f"/patient/me/images/{mine}").text
    assert ann.get(f"/patient/me/images/{bens}/original").status_code == 404
    assert ann.get(f"/doctor/patients/{clinic.patients['Ben']}/images/{bens}/original",
                   follow_redirects=False).status_code == 303  # to the doctors' sign-in
