"""A patient's images on the doctor's portal page: thumbnails grouped by visit, a
full-size view (DICOM rendered here with its own window), and the original file.

Every image is read through cloud.policy and every read is audited.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from PIL import Image as Picture
from PIL import ImageOps
from sqlalchemy.orm import Session

from cloud import audit, policy
from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.models import Record
from cloud.policy import Principal
from cloud.portal import clock
from cloud.portal.web import DoctorDep, PatientDep, address, render
from cloud.sessions import Active

router = APIRouter(include_in_schema=False)

THUMB = 240
FULL = 2400
# Larger files are offered for download only: decoding them would hold a worker too long.
MAX_RENDER_BYTES = 64 * 1024 * 1024
KIND_NAMES = {"xray": "X-ray", "panoramic": "Panoramic", "cephalometric": "Cephalometric",
              "cbct": "CBCT", "intraoral_photo": "Intraoral photo",
              "facial_photo": "Facial photo", "intraoral_scan": "Intraoral scan",
              "face_scan": "Face scan", "document": "Document", "other": "Image"}


@dataclass(frozen=True, slots=True)
class Shown:
    id: str
    kind: str
    filename: str
    taken: str


@dataclass(frozen=True, slots=True)
class Group:
    title: str
    images: list[Shown]


def groups(session: Session, p: Principal, patient_id: str, tz: Any) -> list[Group]:
    """The patient's images by visit (newest visit first), then those filed to no visit."""
    rows = policy.records_of(session, p, "record_image", [patient_id])
    if not rows:
        return []
    visits = {v.entity_id: str(v.fields.get("visit_date") or "")
              for v in policy.records_of(session, p, "visit", [patient_id])}
    by_visit: dict[str, list[Shown]] = {}
    for r in sorted(rows, key=lambda r: (str(r.fields.get("taken_at") or ""), r.entity_id)):
        f = r.fields
        by_visit.setdefault(str(f.get("visit_id") or ""), []).append(Shown(
            r.entity_id, KIND_NAMES.get(str(f.get("kind")), "Image"),
            str(f.get("filename") or "image"), clock.shown(f.get("taken_at"), tz)))
    filed = sorted((k for k in by_visit if k in visits), key=lambda k: visits[k], reverse=True)
    out = [Group(f"Visit of {visits[k]}", by_visit[k]) for k in filed]
    loose = [img for k, imgs in by_visit.items() if k not in visits for img in imgs]
    if loose:
        out.append(Group("Not filed to a visit", loose))
    return out


def _read(request: Request, session: Session, p: Principal, patient_id: str, image_id: str,
          action: str) -> Record:
    try:
        rec = policy.image(session, p, patient_id[:36], image_id[:36])
    except Refused:
        audit.record(session, actor=p.actor, action="image_refused",
                     installation_id=p.installation_id, target=patient_id[:36],
                     address=address(request), detail=image_id[:36])
        raise
    audit.record(session, actor=p.actor, action=action, installation_id=p.installation_id,
                 target=patient_id[:36], address=address(request), detail=image_id[:36])
    return rec


def _picture(data: bytes) -> Picture.Image:
    """The image as a picture: DICOM through its own window, anything else by Pillow."""
    if data[128:132] == b"DICM":
        import numpy as np
        import pydicom
        from pydicom.pixels import apply_voi_lut

        ds = pydicom.dcmread(io.BytesIO(data))
        arr = ds.pixel_array
        if arr.ndim == 3 and getattr(ds, "SamplesPerPixel", 1) == 1:
            arr = arr[arr.shape[0] // 2]  # a volume or multi-frame: its middle frame
        arr = apply_voi_lut(arr, ds).astype("float64")
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / ((hi - lo) or 1.0) * 255.0
        if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
            arr = 255.0 - arr
        return Picture.fromarray(np.asarray(arr, dtype="uint8"))
    pic = Picture.open(io.BytesIO(data))
    return ImageOps.exif_transpose(pic)


def rendered(blobs: Any, sha: str, longest: int, fmt: str = "JPEG") -> bytes | None:
    """The stored image scaled to fit `longest` pixels, as JPEG or PNG bytes; None when
    it is not here, too large to decode in a request, or not a picture."""
    size = blobs.size(sha)
    if size is None or size > MAX_RENDER_BYTES:
        return None
    with blobs.open(sha) as src:
        data = src.read()
    try:
        pic = _picture(data)
        pic.thumbnail((longest, longest))
        out = io.BytesIO()
        if fmt == "PNG":
            pic.convert("L" if pic.mode == "L" else "RGB").save(out, "PNG")
        else:
            pic.convert("RGB").save(out, "JPEG", quality=85)
    except Exception:  # any file Pillow or pydicom cannot decode: download only
        return None
    return out.getvalue()


def _rendered(request: Request, rec: Record, longest: int) -> Response:
    data = rendered(request.app.state.blobs, str(rec.fields.get("sha256")), longest)
    if data is None:
        raise Refused(404, "this image can only be downloaded")
    return Response(data, media_type="image/jpeg")


def _view(request: Request, session: Session, active: Active, patient_id: str,
          image_id: str, base: str, back: str) -> Response:
    p = active.principal
    rec = _read(request, session, p, patient_id, image_id, "image_view")
    patient = policy.patient(session, p, patient_id[:36])
    name = " ".join(str(x) for x in (patient.fields.get("first_name"),
                                     patient.fields.get("last_name")) if x)
    f = rec.fields
    return render(request, "image.html", active=active, base=f"{base}/{rec.entity_id}",
                  back=back, patient_name=name or "—",
                  kind=KIND_NAMES.get(str(f.get("kind")), "Image"),
                  filename=str(f.get("filename") or "image"))


def _original(request: Request, session: Session, p: Principal, patient_id: str,
              image_id: str) -> Response:
    rec = _read(request, session, p, patient_id, image_id, "image_download")
    sha = str(rec.fields.get("sha256"))
    blobs = request.app.state.blobs
    if blobs.size(sha) is None:
        raise Refused(404, "this image has not reached the server yet")
    name = "".join(c for c in str(rec.fields.get("filename") or "image")
                   if c.isalnum() or c in "._- ")[:100] or "image"

    def chunks() -> Any:
        with blobs.open(sha) as src:
            while block := src.read(256 * 1024):
                yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


# Doctors reach a patient's images by his address; a patient only his own, at /patient/me.
DOCTOR = "/doctor/patients/{patient_id}/images/{image_id}"
PATIENT = "/patient/me/images/{image_id}"


def _mine(active: Active) -> str:
    return str(active.principal.patient_id)


@router.get(DOCTOR + "/thumb")
def thumbnail(request: Request, session: SessionDep, active: DoctorDep, patient_id: str,
              image_id: str) -> Response:
    rec = _read(request, session, active.principal, patient_id, image_id, "image_thumbnail")
    return _rendered(request, rec, THUMB)


@router.get(PATIENT + "/thumb")
def my_thumbnail(request: Request, session: SessionDep, active: PatientDep,
                 image_id: str) -> Response:
    rec = _read(request, session, active.principal, _mine(active), image_id,
                "image_thumbnail")
    return _rendered(request, rec, THUMB)


@router.get(DOCTOR + "/full")
def full_size(request: Request, session: SessionDep, active: DoctorDep, patient_id: str,
              image_id: str) -> Response:
    rec = _read(request, session, active.principal, patient_id, image_id, "image_full")
    return _rendered(request, rec, FULL)


@router.get(PATIENT + "/full")
def my_full_size(request: Request, session: SessionDep, active: PatientDep,
                 image_id: str) -> Response:
    rec = _read(request, session, active.principal, _mine(active), image_id, "image_full")
    return _rendered(request, rec, FULL)


@router.get(DOCTOR + "/original")
def original(request: Request, session: SessionDep, active: DoctorDep, patient_id: str,
             image_id: str) -> Response:
    return _original(request, session, active.principal, patient_id, image_id)


@router.get(PATIENT + "/original")
def my_original(request: Request, session: SessionDep, active: PatientDep,
                image_id: str) -> Response:
    return _original(request, session, active.principal, _mine(active), image_id)


@router.get(DOCTOR)
def view(request: Request, session: SessionDep, active: DoctorDep, patient_id: str,
         image_id: str) -> Response:
    pid = patient_id[:36]
    return _view(request, session, active, pid, image_id, f"/doctor/patients/{pid}/images",
                 f"/doctor/patients/{pid}#images")


@router.get(PATIENT)
def my_view(request: Request, session: SessionDep, active: PatientDep,
            image_id: str) -> Response:
    return _view(request, session, active, _mine(active), image_id, "/patient/me/images",
                 "/patient/me#images")
