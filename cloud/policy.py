"""Who may read what: the one access-policy module every portal and API query uses.

A `Principal` is the authenticated caller: the built-in admin of an installation, a
server account, a patient on his own page, or a device of the clinic. Patient data is
read from the synced `records` table only through the functions below, each of which
narrows to the caller's installation and to the patients the caller may see:

- admin and device: every patient of the installation;
- account: the patients shared with it (a whole-database share: every patient);
  an expired or deleted account has no session at all (see cloud.sessions);
- patient: himself, without the doctors' notes (DOCTORS_ONLY), his images only if the
  practice allows it (PATIENTS_IF_ALLOWED).

A patient outside the caller's scope is "not found", never "forbidden", so that ids
can not be probed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from cloud.crud import DeviceCtx, Refused
from cloud.crud.aliases import merged_into
from cloud.models import Image, Installation, Record
from cloud.portal.models import Share

Kind = Literal["admin", "account", "patient", "device"]


@dataclass(frozen=True, slots=True)
class Principal:
    installation_id: str
    kind: Kind
    name: str
    account_id: str | None = None
    patient_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names the caller (never a secret)."""
        return f"{self.kind}:{self.name}"

    @property
    def is_doctor(self) -> bool:
        return self.kind in ("admin", "account")


def scope(session: Session, p: Principal) -> frozenset[str] | None:
    """The patient ids `p` may see; None: every patient of the installation."""
    if p.kind in ("admin", "device"):
        return None
    if p.kind == "patient":
        return frozenset([p.patient_id]) if p.patient_id else frozenset()
    ids = set(session.scalars(select(Share.patient_id).where(
        Share.account_id == p.account_id, Share.installation_id == p.installation_id)))
    if "" in ids:
        return None
    return frozenset(ids)


def _live_patients(p: Principal) -> list[ColumnElement[bool]]:
    return [Record.installation_id == p.installation_id, Record.entity == "patient"]


def _visible(rec: Record) -> bool:
    f = rec.fields
    return not f.get("deleted") and not f.get("merged_into")


def patients(session: Session, p: Principal) -> list[Record]:
    """Every patient `p` may see (deleted and merged ones left out)."""
    allowed = scope(session, p)
    q = select(Record).where(*_live_patients(p))
    if allowed is not None:
        if not allowed:
            return []
        q = q.where(Record.entity_id.in_(sorted(allowed)))
    return [r for r in session.scalars(q) if _visible(r)]


def patient(session: Session, p: Principal, patient_id: str) -> Record:
    """One patient `p` may see; Refused(404) for any other id."""
    allowed = scope(session, p)
    if allowed is not None and patient_id not in allowed:
        raise Refused(404, "no such patient")
    rec = session.execute(
        select(Record).where(*_live_patients(p), Record.entity_id == patient_id)
    ).scalar_one_or_none()
    if rec is None or not _visible(rec):
        raise Refused(404, "no such patient")
    return rec


# What each audience may read of a patient it sees. Notes are written by doctors for
# doctors: a patient reads his visits, plans and payments, never the notes about him.
DOCTORS_ONLY = frozenset({"note"})
# A patient sees his own images only when the practice's portal settings allow it.
PATIENTS_IF_ALLOWED = frozenset({"record_image"})


def may_read(p: Principal, entity: str, session: Session | None = None) -> bool:
    """Whether `p` may read rows of `entity` at all (on top of which patients)."""
    if p.kind != "patient":
        return True
    if entity in DOCTORS_ONLY:
        return False
    if entity in PATIENTS_IF_ALLOWED:
        inst = session.get(Installation, p.installation_id) if session else None
        return bool(inst and inst.patient_images_enabled)
    return True


def records_of(session: Session, p: Principal, entity: str,
               patient_ids: Iterable[str]) -> list[Record]:
    """Rows of `entity` (visit, appointment, agreement, note) of patients `p` may see;
    nothing of an entity `p` may not read (see may_read)."""
    if not may_read(p, entity, session):
        return []
    allowed = scope(session, p)
    wanted = set(patient_ids) if allowed is None else set(patient_ids) & allowed
    if not wanted:
        return []
    wanted |= merged_into(session, installation_id=p.installation_id, kept_ids=wanted)
    pid = Record.fields["patient_id"].as_string()
    q = select(Record).where(Record.installation_id == p.installation_id,
                             Record.entity == entity, pid.in_(sorted(wanted)))
    return [r for r in session.scalars(q) if not r.fields.get("deleted")]


def image(session: Session, p: Principal, patient_id: str, image_id: str) -> Record:
    """One image filed in the record of a patient `p` sees, whose bytes this practice
    uploaded (a record naming another practice's file gets nothing); Refused(404) else."""
    found = [r for r in records_of(session, p, "record_image", [patient_id])
             if r.entity_id == image_id]
    if not found:
        raise Refused(404, "no such image")
    arrived = session.execute(select(Image.id).where(
        Image.installation_id == p.installation_id,
        Image.sha256 == str(found[0].fields.get("sha256")), Image.deleted.is_(False))
    ).first()
    if arrived is None:
        raise Refused(404, "this image has not reached the server yet")
    return found[0]


def payments_of(session: Session, p: Principal, agreements: Iterable[Record]) -> list[Record]:
    """Valid payments of agreements already read through this module (a voided payment
    stays in the practice's ledger but was not taken)."""
    ids = sorted({a.entity_id for a in agreements if a.installation_id == p.installation_id})
    if not ids:
        return []
    q = select(Record).where(Record.installation_id == p.installation_id,
                             Record.entity == "payment",
                             Record.fields["agreement_id"].as_string().in_(ids))
    return [r for r in session.scalars(q)
            if not r.fields.get("deleted") and r.fields.get("void_reason") is None]


def _local_day(starts_at: object, tz: dt.tzinfo) -> str:
    """The practice's calendar day of an appointment's start (a time without an offset
    is already the practice's wall-clock time)."""
    try:
        when = dt.datetime.fromisoformat(str(starts_at))
    except ValueError:
        return ""
    return (when.astimezone(tz) if when.tzinfo else when).date().isoformat()


def diary(session: Session, p: Principal, day: str,
          tz: dt.tzinfo = dt.UTC) -> tuple[list[Record], list[Record]]:
    """(visits, appointments) on `day` (YYYY-MM-DD in the practice's time zone `tz`) of
    patients `p` may see."""
    allowed = scope(session, p)
    if allowed is not None and not allowed:
        return [], []
    the_day = dt.date.fromisoformat(day)
    # a day of the practice spans up to three UTC dates (zones from -12 to +14 hours)
    near = [(the_day + dt.timedelta(days=d)).isoformat() for d in (-1, 0, 1)]
    out: list[list[Record]] = []
    for entity, column in (("visit", "visit_date"), ("appointment", "starts_at")):
        value = Record.fields[column].as_string()
        cond = value == day if entity == "visit" else \
            or_(*(value.like(f"{d}T%") for d in near))
        q = select(Record).where(Record.installation_id == p.installation_id,
                                 Record.entity == entity, cond)
        if allowed is not None:
            q = q.where(Record.fields["patient_id"].as_string().in_(sorted(allowed)))
        rows = [r for r in session.scalars(q) if not r.fields.get("deleted")]
        if entity == "appointment":
            rows = [r for r in rows if _local_day(r.fields.get("starts_at"), tz) == day]
        out.append(rows)
    return out[0], out[1]


def require_doctor(p: Principal) -> None:
    """Only doctors (admin or a server account) send notes."""
    if not p.is_doctor:
        raise Refused(403, "only doctors can send notes")


def require_device(p: Principal) -> None:
    """Server settings, accounts and shares are managed from the clinic's PCs only."""
    if p.kind != "device":
        raise Refused(403, "only the clinic's computers manage the server")


def device(ctx: DeviceCtx) -> Principal:
    """The principal of a clinic PC calling the sync, upload and image APIs."""
    return Principal(ctx.installation_id, "device", ctx.id)


def synced_rows(p: Principal, installation_column: Any) -> ColumnElement[bool]:
    """A PC syncs its installation whole — every synced row, change and conflict of it,
    and nothing of another installation. Only devices read the sync API."""
    require_device(p)
    same: ColumnElement[bool] = installation_column == p.installation_id
    return same


def synced_record(p: Principal, rec: Record | None) -> Record:
    """One synced row for a PC of its installation; Refused(404) otherwise."""
    require_device(p)
    if rec is None or rec.installation_id != p.installation_id:
        raise Refused(404, "unknown record")
    return rec
