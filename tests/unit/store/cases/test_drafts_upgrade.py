"""A practice database from before lab cases opens with its draft cases (made from
images picked on the Images tab, kept on that PC only) as lab cases: in draft, their
title as the case type, their images attached, queued for the practice's other PCs; the
lab is chosen, then the case is sent like any other."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.core.wire import Mutation
from app.store.models import OutboxMutation
from app.store.patients.records_repo import InvalidRecordError

PID = "01900000-0000-7000-8000-000000000001"
MON, TUE = "01900000-0000-7000-8000-0000000000b1", "01900000-0000-7000-8000-0000000000b2"
PHOTO_MON, PHOTO_TUE, STL_TUE = (f"01900000-0000-7000-8000-0000000000c{n}" for n in (1, 2, 3))
CROWN, SPLINT = "01900000-0000-7000-8000-0000000000d1", "01900000-0000-7000-8000-0000000000d2"
USER = "01900000-0000-7000-8000-0000000000e1"


def test_old_draft_cases_open_as_lab_cases(tmp_path) -> None:
    from app.platform.secrets import SecretStore
    from app.store import keys
    from app.store.db import Database, open_database
    from app.store.dto import Viewer
    from app.store.migrate import migrate
    from app.store.services import Store
    from tests.conftest import _KEYRING

    path = tmp_path / "old.chairside"
    key = keys.create_key(path, SecretStore(_KEYRING), allow_key_file=False)
    db = Database(path, key)
    migrate(db.writer, "0020")  # the schema before drafts became lab cases
    with db.writer.begin() as conn:
        sql = conn.exec_driver_sql
        sql("INSERT INTO patients (id, num, first_name, last_name, gender, provisional, "
            "deleted, stamps) VALUES (?, 1, 'Ana', 'Lima', 'female', 0, 0, '{}')", (PID,))
        for visit, day in ((MON, "2026-01-05"), (TUE, "2026-01-06")):
            sql("INSERT INTO visits (id, stamps, deleted, patient_id, visit_date) "
                "VALUES (?, '{}', 0, ?, ?)", (visit, PID, day))
        for image, visit, kind in ((PHOTO_MON, MON, "intraoral_photo"),
                                   (PHOTO_TUE, TUE, "intraoral_photo"),
                                   (STL_TUE, TUE, "intraoral_scan")):
            sql("INSERT INTO record_images (id, stamps, deleted, patient_id, visit_id, kind, "
                "sha256, filename, size) VALUES (?, '{}', 0, ?, ?, ?, ?, 'f', 10)",
                (image, PID, visit, kind, image.replace("-", "")[:32] * 2))
        # As made on the Images tab: each kind from one record.
        sql("INSERT INTO case_drafts (id, patient_id, title, created_at, created_by, "
            "image_ids) VALUES (?, ?, 'Crown 36', '2026-01-06T10:00:00+00:00', ?, ?)",
            (CROWN, PID, USER, json.dumps([PHOTO_TUE, STL_TUE])))
        # Its Monday photo was picked when the Tuesday one was filed on Monday; the
        # photo was moved since, so the photos now come from two records.
        sql("INSERT INTO case_drafts (id, patient_id, title, created_at, created_by, "
            "image_ids) VALUES (?, ?, 'Splint', '2026-01-07T10:00:00+00:00', ?, ?)",
            (SPLINT, PID, USER, json.dumps([PHOTO_MON, PHOTO_TUE])))
    db.close()

    db = open_database(path, SecretStore(_KEYRING))
    try:
        store, v = Store.over(db), Viewer(USER, True)
        splint, crown = store.cases.for_patient(v, PID)
        assert (crown.id, crown.case_type, crown.status) == (CROWN, "Crown 36", "draft")
        assert crown.image_ids == (PHOTO_TUE, STL_TUE) and crown.status_words == "Draft"
        assert crown.lab_code is None and crown.instructions is None
        assert (splint.case_type, splint.image_ids) == ("Splint", (PHOTO_MON,))
        assert "1 picked image(s) left out" in (splint.instructions or "")
        with db.read() as s:
            queued = {r.entity_id: Mutation.from_wire(r.payload) for r in s.scalars(
                select(OutboxMutation).where(OutboxMutation.entity == "lab_case"))}
        assert set(queued) == {CROWN, SPLINT}
        assert queued[CROWN].fields["image_ids"] == f"{PHOTO_TUE},{STL_TUE}"
        # The lab is chosen, then it goes like a case made today.
        with pytest.raises(InvalidRecordError, match="Choose the lab"):
            store.cases.send(v, CROWN)
        store.cases.update(v, CROWN, {"lab_code": "LAB123", "lab_name": "Crown Works",
                                      "case_type": crown.case_type,
                                      "image_ids": list(crown.image_ids)})
        sent = store.cases.send(v, CROWN)
        assert (sent.status, sent.lab_name) == ("sent", "Crown Works")
        # A merge of patients names and moves them as the drafts were.
        kept = store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
        assert store.merges.preview(v, kept.id, [PID])["cases"] == 2
    finally:
        db.close()
