"""A long session must not wear out Python's shared objects through Qt calls."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys, threading
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel

app = QApplication([])
label = QLabel()

class Emitter(QObject):
    fired = Signal(bool)

emitter = Emitter()
emitter.fired.connect(lambda value: None)
none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(200_000):
    label.setObjectName("x")  # returns nothing
worker = threading.Thread(target=lambda: [emitter.fired.emit(True) for _ in range(20_000)])
worker.start()
worker.join()
app.processEvents()
print(sys.getrefcount(None) - none_before, sys.getrefcount(True) - true_before)
"""


def test_qt_calls_do_not_leak_references_to_none_or_booleans() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    none_delta, true_delta = (int(x) for x in result.stdout.split())
    assert abs(none_delta) < 1000 and abs(true_delta) < 1000
