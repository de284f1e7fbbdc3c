"""The dissolution's job, 72 hours after it was asked: every case, connection, member
and patient of the institution goes, on the cloud and — through a purge change at the
end of its change log — on its PCs, which then delete their own copy and say why.

What stays: the accounts (the practice's registration and administrator, its server
accounts, the program users, a lab's members), which still sign in; the institution's
row, so that its code is never given out again and everything refuses with the reason.
Files no installation refers to any more leave the blob store. Safe to run twice: a
second run finds the dissolution done and does nothing.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.core.hlc import Timestamp
from cloud import audit
from cloud.blobstore import BlobStore
from cloud.db import write_transaction
from cloud.export import service as export_service
from cloud.export.models import DataDownload
from cloud.institutions.dissolution import JOB_KIND, when_text
from cloud.institutions.dissolution_models import DONE, PENDING, Dissolution
from cloud.institutions.models import ConnectionRequest, Institution
from cloud.jobs.registry import JobContext, handler
from cloud.models import Change, ConflictRecord, Image, PatientAlias, Record, Upload
from cloud.portal import clock
from cloud.portal.models import PatientSecret, PortalSession, Share, aware
from cloud.portal.notes import PORTAL_NODE

log = logging.getLogger("cloud.institutions")

PURGE_ENTITY = "institution_purge"  # the change that tells a PC to drop its data
KEPT = ("user",)  # synced entities that are accounts, not the institution's data


def _due(session: Session, institution_id: str) -> Dissolution | None:
    row = session.scalar(select(Dissolution).where(
        Dissolution.institution_id == institution_id).with_for_update()
        .execution_options(populate_existing=True))
    if row is None or row.state != PENDING or aware(row.dissolve_at) > clock.now():
        return None  # revoked, done already, or asked again later
    return row


def _purge_clinic(session: Session, inst: Institution) -> tuple[set[str], list[str]] | None:
    """The clinic's synced data and its PCs' purge change, in one transaction; the
    SHA-256 of the files it held and the ids of its data downloads, whose ZIPs are to
    be deleted (None: nothing was due)."""
    iid = inst.installation_id
    assert iid is not None
    with write_transaction(session, iid) as installation:
        row = _due(session, inst.id)
        if row is None:
            return None
        shas = set(session.scalars(select(Image.sha256).where(Image.installation_id == iid)))
        shas |= set(session.scalars(select(Upload.sha256).where(Upload.installation_id == iid)))
        not_kept = Record.entity.not_in(KEPT)
        session.execute(delete(Record).where(Record.installation_id == iid, not_kept))
        session.execute(delete(Change).where(Change.installation_id == iid,
                                             Change.entity.not_in(KEPT)))
        session.execute(delete(ConflictRecord).where(ConflictRecord.installation_id == iid,
                                                     ConflictRecord.entity.not_in(KEPT)))
        for table in (Image, Upload, PatientAlias, PatientSecret):
            session.execute(delete(table).where(table.installation_id == iid))
        session.execute(delete(Share).where(Share.installation_id == iid, Share.patient_id != ""))
        session.execute(delete(PortalSession).where(PortalSession.installation_id == iid,
                                                    PortalSession.kind == "patient"))
        _forget_connections(session, inst)
        downloads = list(session.scalars(select(DataDownload.id).where(
            DataDownload.installation_id == iid, DataDownload.status != export_service.EXPIRED)))
        session.execute(update(DataDownload).where(DataDownload.id.in_(downloads)).values(
            status=export_service.EXPIRED, sealed_password=None,
            error="the clinic was dissolved"))
        now = clock.now()
        installation.last_seq += 1
        hlc = str(Timestamp(time.time_ns() // 1_000_000, 0, PORTAL_NODE))
        said = (f"The clinic {inst.name} was dissolved on {when_text(now)} at the request "
                f"of {row.asked_by}: its patients, cases and connections were deleted "
                "from the server and from this computer.")
        session.add(Change(installation_id=iid, seq=installation.last_seq,
                           entity=PURGE_ENTITY, entity_id=inst.id, origin_node=PORTAL_NODE,
                           created_at=now,
                           fields={"reason": {"value": said, "hlc": hlc, "base": None},
                                   "at": {"value": now.isoformat(timespec="seconds"),
                                          "hlc": hlc, "base": None}}))
        row.state, row.done_at = DONE, now
    return shas, downloads


def _forget_connections(session: Session, inst: Institution) -> None:
    session.execute(delete(ConnectionRequest).where(or_(
        ConnectionRequest.lab_id == inst.id, ConnectionRequest.clinic_id == inst.id)))


def _purge_lab(session: Session, inst: Institution) -> bool:
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})
    row = _due(session, inst.id)
    if row is None:
        session.rollback()
        return False
    _forget_connections(session, inst)
    row.state, row.done_at = DONE, clock.now()
    session.commit()
    return True


def drop_unreferenced(session: Session, blobs: BlobStore, shas: set[str]) -> int:
    """Delete the files of `shas` that no installation refers to any more."""
    dropped = 0
    for sha in sorted(shas):
        used = session.scalar(select(Image.id).where(Image.sha256 == sha).limit(1)) or \
            session.scalar(select(Upload.id).where(Upload.sha256 == sha).limit(1))
        if used is None and blobs.has(sha):
            blobs.delete(sha)
            dropped += 1
    return dropped


def dissolve(session: Session, blobs: BlobStore, institution_id: str,
             downloads_dir: Path | None = None) -> bool:
    """Carry out a due dissolution; False when there is none (revoked, or done).
    `downloads_dir`: where the data downloads' ZIPs are (cloud.export.service.folder)."""
    inst = session.get(Institution, institution_id)
    if inst is None:
        return False
    if inst.installation_id:
        purged = _purge_clinic(session, inst)
        if purged is None:
            return False
        shas, zips = purged
        if downloads_dir is not None:
            for download_id in zips:
                (downloads_dir / f"{download_id}.zip").unlink(missing_ok=True)
        dropped = drop_unreferenced(session, blobs, shas)
    else:
        if not _purge_lab(session, inst):
            return False
        dropped = 0
    row = session.get(Dissolution, inst.id)
    assert row is not None
    audit.record(session, actor="dissolution job", action="institution_dissolved",
                 installation_id=inst.installation_id, target=inst.code,
                 detail=f"asked by {row.asked_by} on {when_text(row.asked_at)}; "
                        f"{dropped} files no longer used were deleted")
    log.info("institution %s dissolved", inst.code)
    return True


@handler(JOB_KIND)
def run(ctx: JobContext, payload: dict[str, Any]) -> None:
    with ctx.sessionmaker() as session:
        dissolve(session, ctx.blobs, str(payload.get("institution_id") or ""),
                 export_service.folder(ctx.settings))
