from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.store.dto import UserRow
from app.store.services import Store
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from app.ui.sync import agent_status


@pytest.fixture
def ctx(store: Store, admin: UserRow, qapp: QApplication) -> Iterator[AppContext]:
    ops = OpRunner()
    yield AppContext(store, admin, ops)
    ops.wait_idle()
    ops.shutdown()


@pytest.fixture
def window(ctx: AppContext, qtbot: QtBot) -> Iterator[MainWindow]:
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new user's machine: nothing in HOME, the usual folders (no overrides)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("CHAIRSIDE_DATA_DIR", raising=False)
    monkeypatch.delenv("CHAIRSIDE_CONFIG_DIR", raising=False)
    return home


@pytest.fixture
def agents(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The app starts the real sync agent; it is detached, so the test stops it."""
    started: list[subprocess.Popen[bytes]] = []
    real = agent_status.start_agent

    def start(path: Path) -> subprocess.Popen[bytes]:
        proc = real(path)
        started.append(proc)
        return proc

    monkeypatch.setattr(agent_status, "start_agent", start)
    yield started
    for proc in started:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A computer with no keyring at all, in this process and in the agent it starts."""
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)
