from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.ui.context import AppContext
from app.ui.main_window import MainWindow
from app.ui.ops import OpRunner


@pytest.fixture
def ctx(store, admin, qapp) -> Iterator[AppContext]:
    ops = OpRunner()
    yield AppContext(store, admin, ops)
    ops.wait_idle()
    ops.shutdown()


@pytest.fixture
def window(ctx, qtbot) -> Iterator[MainWindow]:
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
