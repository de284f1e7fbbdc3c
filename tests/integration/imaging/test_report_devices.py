"""A scan filed by another PC of the practice goes into a health checking report; once
the practice revoked that PC, its scans are refused with the seed's message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import Qt

from app.core import health_report as hr
from app.platform.secrets import SecretStore
from app.store.images.images_repo import ImagesRepo
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from sync_agent import connection
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC
from tests.integration.cloud.conftest import Server
from tests.unit.imaging import samples


def _confirm(qtbot: Any, dialog: Any) -> None:
    dialog.pages.setCurrentIndex(0)
    qtbot.mouseClick(dialog.confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.start.isEnabled() or "permission" in dialog.status.text(),
                    timeout=20_000)


def test_scans_of_a_revoked_pc_cannot_make_a_report(
        clinic: Callable[[int], list[PC]], cloud: Server, qtbot: Any, tmp_path: Path) -> None:
    a, b = clinic(2)
    ann = a.store.patients.create(a.admin.viewer(), {"first_name": "Ann", "last_name": "Lee",
                                                     "gender": "female"})
    a.sync()
    b.sync()
    ImagesRepo(b.store.db).add_files(b.admin.viewer(), ann.id,
                                     [samples.stl_arch(tmp_path / "lower_jaw.stl", teeth=12)])
    b.sync()
    ImagesRepo(a.store.db).add_files(a.admin.viewer(), ann.id,
                                     [samples.stl_arch(tmp_path / "upper_jaw.stl")])
    a.sync()  # b's scan and its file arrive

    ops = OpRunner()
    window = MainWindow(AppContext(a.store, a.admin, ops))
    qtbot.addWidget(window)
    window.show()
    try:
        window.open_patient(ann.id)
        page = window.patient_page
        qtbot.waitUntil(lambda: page.title.text() == "Ann Lee", timeout=10_000)
        qtbot.mouseClick(page.make_report, Qt.MouseButton.LeftButton)
        dialog = page.report_dialog
        qtbot.waitUntil(lambda: dialog.data_list.count() == 2, timeout=10_000)
        assert len(dialog.selected()) == 2  # the upper and the lower jaw
        _confirm(qtbot, dialog)
        assert dialog.start.isEnabled(), dialog.status.text()  # b is the practice's PC

        own = connection.load(a.store.db, SecretStore(_KEYRING))
        theirs = connection.load(b.store.db, SecretStore(_KEYRING))
        assert own is not None and theirs is not None
        gone = httpx.delete(f"{cloud.url}/api/v1/devices/{theirs.device_id}",
                            headers={"Authorization": f"Bearer {own.token}"})
        assert gone.status_code == 204
        _confirm(qtbot, dialog)
        assert dialog.status.text() == f"{hr.NOT_PERMITTED} (lower_jaw.stl)."
        assert not dialog.start.isEnabled() and not dialog.regenerate.isVisible()

        # Without b's scan, the report is made.
        lower = next(dialog.data_list.item(i) for i in range(2)
                     if "lower_jaw" in dialog.data_list.item(i).text())
        lower.setCheckState(Qt.CheckState.Unchecked)
        _confirm(qtbot, dialog)
        assert dialog.start.isEnabled(), dialog.status.text()
        dialog.close()
    finally:
        window.close()
        ops.wait_idle()
        ops.shutdown()
