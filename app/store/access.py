"""Who may see which patient — the one place the rule lives in the store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import true

from app.store.dto import Viewer
from app.store.errors import NotFoundError
from app.store.models import Patient


def visible(viewer: Viewer) -> Any:
    """A WHERE clause: the patients this viewer may see (live, not merged away)."""
    live = Patient.deleted.is_(False) & Patient.merged_into.is_(None)
    if viewer.is_admin:
        return live & true()
    return live & Patient.responsible_user_id.in_(viewer.owner_ids)


def visible_records(viewer: Viewer) -> Any:
    """Like `visible`, but also the patients merged into another (their records belong
    to the kept patient and still count, e.g. in the diary)."""
    live = Patient.deleted.is_(False)
    if viewer.is_admin:
        return live & true()
    return live & Patient.responsible_user_id.in_(viewer.owner_ids)


def check(viewer: Viewer, patient: Patient | None) -> Patient:
    """The patient if this viewer may see it; NotFoundError otherwise (not a hint that
    it exists)."""
    if (
        patient is None
        or patient.deleted
        or (not viewer.is_admin and patient.responsible_user_id not in viewer.owner_ids)
    ):
        raise NotFoundError("That patient does not exist or is not one of yours.")
    return patient


def family(session: Any, patient_id: str) -> list[str]:
    """The patient and every patient merged into it (at any depth): records that still
    point at a merged patient's old id belong to the kept one."""
    from sqlalchemy import select

    ids = [patient_id]
    frontier = [patient_id]
    while frontier:
        found = list(session.scalars(select(Patient.id).where(Patient.merged_into.in_(frontier))))
        found = [i for i in found if i not in ids]
        ids.extend(found)
        frontier = found
    return ids
