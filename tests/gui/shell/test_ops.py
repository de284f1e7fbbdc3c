"""Background work whose window was closed before it finished: its result is dropped,
not delivered to a widget or model Qt has already deleted."""

from __future__ import annotations

import threading

import shiboken6

from app.ui.shell.ops import OpRunner, ReadOp
from app.ui.widgets.table_model import Column, RowTableModel


def test_a_result_for_a_deleted_model_is_dropped_quietly(qtbot, capsys) -> None:
    runner = OpRunner()
    model: RowTableModel[str] = RowTableModel([Column("Name", str)])
    release = threading.Event()
    delivered: list[object] = []
    ReadOp(lambda: release.wait(5) and ["Karim"]).success(model.set_rows).run(runner)
    ReadOp(lambda: ["Lina"]).success(delivered.append).run(runner)
    shiboken6.delete(model)  # the dialog that owned it was closed meanwhile
    release.set()
    qtbot.waitUntil(lambda: delivered == [["Lina"]])
    runner.drain()
    runner.shutdown()
    assert "already deleted" not in capsys.readouterr().err
