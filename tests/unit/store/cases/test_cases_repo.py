"""Lab cases in the practice database: the lab's rule on attachments, sent once."""

from __future__ import annotations

import pytest

from app.store.images.images_repo import ImagesRepo
from app.store.patients.records_repo import InvalidRecordError
from tests.unit.imaging import samples


def test_images_of_one_kind_from_one_record_and_sent_once(store, admin, tmp_path) -> None:
    v = admin.viewer()
    p = store.patients.create(v, {"first_name": "Ana"})
    images = ImagesRepo(store.db)
    [first] = images.add_files(v, p.id, [samples.photo(tmp_path / "a.jpg")],
                               new_record="Monday").added
    [second] = images.add_files(v, p.id, [samples.photo(tmp_path / "b.jpg", size=(64, 48))],
                                new_record="Tuesday").added
    lab = {"lab_code": "LAB123", "lab_name": "Crown Works"}
    with pytest.raises(InvalidRecordError, match="single record"):
        store.cases.create(v, p.id, {**lab, "image_ids": [first.id, second.id]})
    other = store.patients.create(v, {"first_name": "Bo"})
    with pytest.raises(InvalidRecordError, match="not one of this patient's"):
        store.cases.create(v, other.id, {**lab, "image_ids": [first.id]})
    case = store.cases.create(v, p.id, {**lab, "image_ids": [second.id], "due_date": ""})
    assert (case.status, case.image_ids, case.due_date) == ("draft", (second.id,), None)
    sent = store.cases.send(v, case.id)
    assert sent.status == "sent" and sent.sent_at
    with pytest.raises(InvalidRecordError, match="sent already"):
        store.cases.send(v, case.id)
