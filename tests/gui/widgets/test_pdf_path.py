"""The file name a PDF's save dialog suggests is one the system can make."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QWidget

from app.ui.widgets.pdf import ask_pdf_path


def test_a_name_with_slashes_or_colons_is_suggested_as_one_file(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    offered: list[str] = []

    def save_as(_parent, _caption, path, _filter):  # the user accepts the suggestion
        offered.append(path)
        return path, _filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    parent = QWidget()
    qtbot.addWidget(parent)
    chosen = ask_pdf_path(parent, "Save", 'Report Smith/Jones 1:2 "x"? 2026-11-30.pdf')
    assert chosen is not None
    assert chosen.parent == tmp_path  # not a folder named after half the patient's name
    assert chosen.name == "Report Smith-Jones 1-2 -x-- 2026-11-30.pdf"
