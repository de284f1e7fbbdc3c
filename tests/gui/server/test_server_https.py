"""The Server window against the cloud over HTTPS: a certificate this computer can not
trust is refused, and the window says why in words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.ui.server.server_window import ServerWindow
from tests.integration.cloud.conftest import Server, stop_server
from tests.support.tls import CA_ENV, another_authority, start_https_server

WAIT = 30_000


@pytest.fixture
def https_cloud(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    server, ca = start_https_server(tmp_path)
    yield server, ca
    stop_server(server)


def test_the_server_window_refuses_an_untrusted_certificate_then_registers(
        ctx: Any, qtbot: Any, https_cloud: tuple[Server, Path], secrets_store: Any,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server, ca = https_cloud
    other = another_authority(tmp_path)
    for k in CA_ENV:
        monkeypatch.setenv(k, str(other))
    w = ServerWindow(ctx, secrets=secrets_store)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.installation.text() == "not registered yet", timeout=WAIT)
    w.server_url.setText(server.url)
    qtbot.keyClicks(w.email, "clinic@example.com")
    qtbot.mouseClick(w.register_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "identity could not be verified" in w.message.text(),
                    timeout=WAIT)
    assert "check the server address" in w.message.text()
    assert w.installation.text() == "not registered yet"

    for k in CA_ENV:  # the computer trusts the server's authority now
        monkeypatch.setenv(k, str(ca))
    qtbot.mouseClick(w.register_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: re.fullmatch(r"\d{12}", w.installation.text()) is not None,
                    timeout=WAIT)
