"""Fixtures of the Images tab tests: a patient page open on its Images tab."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.store.dto import UserRow
from app.store.services import Store
from app.ui.patients.patient_page import PatientPage
from app.ui.shell.main_window import MainWindow
from tests.unit.imaging import samples


@pytest.fixture
def page(window: MainWindow, store: Store, admin: UserRow, qtbot: QtBot) -> PatientPage:
    patient = store.patients.create(
        admin.viewer(), {"first_name": "John", "last_name": "Doe", "gender": "male",
                         "birth_date": "1980-01-02"})
    window.open_patient(patient.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "John Doe")
    page.tabs.setCurrentWidget(page.images_tab)
    return page


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return [
        samples.photo(tmp_path / "mouth.jpg", seed=1),
        samples.dicom_xray(tmp_path / "bitewing.dcm"),
        samples.stl_binary(tmp_path / "upper.stl"),
    ]
