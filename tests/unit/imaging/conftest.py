from __future__ import annotations

from pathlib import Path

import pytest

from app.imaging import sealed
from app.imaging.cas import ImageStore
from app.store.dto import PatientDetail, UserRow
from app.store.services import Store


@pytest.fixture
def files(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images", key=sealed.new_key())


@pytest.fixture
def patient(store: Store, admin: UserRow) -> PatientDetail:
    return store.patients.create(
        admin.viewer(),
        {"first_name": "John", "last_name": "Doe", "gender": "male",
         "birth_date": "1980-01-02"},
    )
