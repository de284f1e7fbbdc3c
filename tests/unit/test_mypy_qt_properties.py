"""The mypy plugin scripts/mypy_qt_properties.py: a Qt property a widget inherits is
accepted as a constructor keyword, typed as its class declares it; anything else that
was wrong stays wrong."""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]

SOURCE = '''
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton


class Plain(QLabel):
    pass


class Own(QLabel):
    def __init__(self, text: str) -> None:
        super().__init__(text)


QLabel("", objectName="title", wordWrap=True)
QComboBox(objectName="doctor")
QPushButton("Save", toolTip="Saves the patient", objectName="save")
Plain("", objectName="plain")
QLabel("", objectName=3)  # line 18
QLabel("", wordwrap=True)  # line 19
Own("", objectName="own")  # line 20
'''


def test_inherited_properties_are_keywords_and_typed(tmp_path: Path) -> None:
    (tmp_path / "screens.py").write_text(SOURCE)
    (tmp_path / "mypy.ini").write_text(
        f"[mypy]\nplugins = {ROOT / 'scripts' / 'mypy_qt_properties.py'}\n")
    out, _, status = api.run([
        "--config-file", str(tmp_path / "mypy.ini"), "--cache-dir", str(tmp_path / "cache"),
        "--no-error-summary", "--hide-error-context", str(tmp_path / "screens.py"),
    ])
    errors = re.findall(r":(\d+): error: .*\[([a-z-]+)\]$", out, re.MULTILINE)
    assert errors == [("18", "call-overload"), ("19", "call-overload"), ("20", "call-arg")], out
    assert status == 1
