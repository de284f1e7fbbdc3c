"""Upload resources and the images they deliver."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from app.core.hlc import Clock
from app.core.ids import new_id
from cloud import security
from cloud.crud import DeviceCtx, Refused
from cloud.crud.aliases import resolve_patient
from cloud.db import write_transaction
from cloud.models import Change, Device, Image, Record, Upload, utcnow
from cloud.tus.protocol import ImageMeta
from cloud.tus.storage import remove_part

log = logging.getLogger("cloud.uploads")
# Stamps of the image changes the server writes itself (an image is an append-only fact).
SERVER_NODE = "0000000000000000"
_clock = Clock(SERVER_NODE)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def check_patient(session: Session, *, device: DeviceCtx, patient_id: str) -> str:
    """The patient id to file an image under (a merged patient resolves to the kept
    one); 403 for a patient of another installation."""
    rec = session.get(Record, patient_id)
    if rec is not None and (rec.installation_id != device.installation_id
                            or rec.entity != "patient"):
        raise Refused(403, "patient_id is not a patient of this installation")
    return resolve_patient(session, installation_id=device.installation_id,
                           patient_id=patient_id)


def create(
    session: Session, *, device: DeviceCtx, length: int, meta: ImageMeta, metadata: str,
    expires_in: dt.timedelta, already_held: bool,
) -> tuple[Upload, bool]:
    """A new upload; (upload, True) when the installation already holds these bytes,
    in which case the upload is complete at once and the image recorded."""
    # The write lock first: on SQLite a read that turns into a write fails at once
    # ("database is locked") when another PC's push committed in between.
    session.connection(execution_options={"sqlite_immediate": True})
    patient_id = check_patient(session, device=device, patient_id=meta.patient_id)
    now = utcnow()
    upload = Upload(
        id=new_id().replace("-", ""), installation_id=device.installation_id,
        device_id=device.id, length=length, sha256=meta.sha256, patient_id=patient_id,
        kind=meta.kind, filename=meta.filename, metadata_header=metadata[:4096],
        created_at=now, expires_at=now + expires_in,
    )
    held = already_held and session.execute(
        select(Image.id).where(Image.installation_id == device.installation_id,
                               Image.sha256 == meta.sha256, Image.size == length).limit(1)
    ).first() is not None
    session.add(upload)
    session.commit()
    if held:
        finish(session, device=device, upload_id=upload.id)
        session.refresh(upload)
    return upload, held


@dataclass(frozen=True, slots=True)
class UploadRow:
    """What a request on an upload reads of its row."""

    id: str
    length: int
    sha256: str
    metadata_header: str
    expires_at: dt.datetime
    completed_at: dt.datetime | None

    @classmethod
    def of(cls, upload: Upload) -> UploadRow:
        return cls(upload.id, upload.length, upload.sha256, upload.metadata_header,
                   upload.expires_at, upload.completed_at)


# The device of a token and its upload in one statement: every PATCH of every chunk
# asks it before its first byte is read, and two ORM lookups cost several times more
# than the query itself.
_CALLER = select(
    Device.id.label("device_id"), Device.installation_id, Device.node,
    Upload.id, Upload.length, Upload.sha256, Upload.metadata_header, Upload.expires_at,
    Upload.completed_at,
).select_from(Device).outerjoin(Upload, and_(
    Upload.id == bindparam("upload_id"), Upload.installation_id == Device.installation_id,
)).where(Device.token_hash == bindparam("token_hash"), Device.revoked_at.is_(None))


def caller_upload(session: Session, *, token: str, upload_id: str,
                  folder: Path) -> tuple[DeviceCtx, UploadRow] | None:
    """The device of a bearer token and its upload; None when the token is unknown or
    revoked, 404 when the upload is unknown (or another installation's), 410 when it
    expired (and it is cleaned away)."""
    row = session.execute(_CALLER, {"token_hash": security.hash_token(token),
                                    "upload_id": upload_id}).first()
    if row is None:
        return None
    if row.id is None:
        raise Refused(404, "unknown upload")
    if _aware(row.expires_at) <= utcnow():
        forget(session, upload_id=row.id, folder=folder)
        raise Refused(410, "the upload expired and was removed; start a new one")
    return (DeviceCtx(row.device_id, row.installation_id, row.node),
            UploadRow(row.id, row.length, row.sha256, row.metadata_header, row.expires_at,
                      row.completed_at))


def forget(session: Session, *, upload_id: str, folder: Path) -> None:
    session.execute(delete(Upload).where(Upload.id == upload_id))
    session.commit()
    remove_part(folder, upload_id)


def finish(session: Session, *, device: DeviceCtx, upload_id: str) -> str:
    """Record a verified upload's image and its change; returns the image id."""
    with write_transaction(session, device.installation_id) as inst:
        upload = session.execute(
            select(Upload).where(Upload.id == upload_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        if upload.image_id:
            return upload.image_id
        existing = session.execute(
            select(Image.id).where(
                Image.installation_id == inst.id, Image.sha256 == upload.sha256,
                Image.patient_id == upload.patient_id, Image.kind == upload.kind)
        ).scalar()
        image_id = existing or new_id()
        if existing is None:
            inst.last_seq += 1
            seq = inst.last_seq
            session.execute(insert(Image), [{
                "id": image_id, "installation_id": inst.id, "sha256": upload.sha256,
                "size": upload.length, "patient_id": upload.patient_id, "kind": upload.kind,
                "filename": upload.filename, "device_id": device.id, "seq": seq,
                "deleted": False, "created_at": utcnow(),
            }])
            stamp = str(_clock.now())
            values = {"sha256": upload.sha256, "size": upload.length,
                      "patient_id": upload.patient_id, "kind": upload.kind,
                      "filename": upload.filename}
            session.execute(insert(Change), [{
                "installation_id": inst.id, "seq": seq, "entity": "image",
                "entity_id": image_id, "origin_node": device.node, "device_id": device.id,
                "mutation_id": None, "created_at": utcnow(),
                "fields": {k: {"value": v, "hlc": stamp, "base": None}
                           for k, v in values.items()},
            }])
        upload.completed_at = utcnow()
        upload.image_id = image_id
    log.info("image %s (%s, %d bytes) arrived for installation %s", image_id,
             upload.sha256[:12], upload.length, device.installation_id)
    return image_id


def sweep_expired(session: Session, *, folder: Path) -> int:
    """Remove expired uploads and their part files; returns how many."""
    ids = list(session.scalars(select(Upload.id).where(Upload.expires_at <= utcnow())))
    for upload_id in ids:
        forget(session, upload_id=upload_id, folder=folder)
    return len(ids)
