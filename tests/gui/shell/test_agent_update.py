"""After an update, the agent of the release before (it keeps running when the app
closes) is replaced by this build's, without the user doing anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.platform.build_id import build_id
from app.store.sync.agent_repo import AgentRepo
from app.store.sync.outbox import utc_now_text
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from app.ui.sync import agent_status
from app.ui.sync.agent_status import RESTARTING

WAIT = 10_000


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    # The agent process itself cannot open a test database (its key is in this
    # process's keyring only): what is checked is that the app starts it, and when.
    calls: list[Path] = []
    monkeypatch.setattr(agent_status, "start_agent", calls.append)
    return calls


@pytest.fixture
def open_app(store, admin, qapp, qtbot) -> Iterator[Callable[[], MainWindow]]:
    """The app as a user starts it (it looks for the agent once it is up)."""
    ops = OpRunner()
    made: list[MainWindow] = []

    def open_window() -> MainWindow:
        w = MainWindow(AppContext(store, admin, ops, start_agent=True))
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield open_window
    for w in made:
        w.close()
    ops.wait_idle()
    ops.shutdown()


def running_agent(store, build: str | None, beat: str | None = None) -> AgentRepo:
    repo = AgentRepo(store.db)
    repo.publish(pid=4242, build=build, started_at=utc_now_text(), stopped_at=None,
                 heartbeat_at=beat or utc_now_text())
    return repo


def test_an_agent_of_the_release_before_is_stopped_then_this_builds_started(
    store, started, open_app, qtbot
) -> None:
    old = running_agent(store, None)  # the release before published no build
    app_window = open_app()
    label = app_window.agent_status.label
    taken: list[str] = []
    qtbot.waitUntil(lambda: bool(taken.extend(r.kind for r in old.take_requests()) or taken),
                    timeout=WAIT)
    assert taken == ["stop"]
    assert label.text() == RESTARTING
    assert started == []
    old.publish(stopped_at=utc_now_text())  # what the old agent does when it stops
    qtbot.waitUntil(lambda: len(started) == 1, timeout=WAIT)
    assert started == [store.db.path]


def test_an_old_agent_that_died_instead_leaves_no_stop_for_the_new_one(
    store, started, open_app, qtbot
) -> None:
    running_agent(store, "an-older-build")
    app_window = open_app()
    qtbot.waitUntil(lambda: app_window.agent_status.label.text() == RESTARTING, timeout=WAIT)
    # It never takes the request: its heartbeat just ages, as when it was killed.
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    AgentRepo(store.db).publish(heartbeat_at=long_ago)
    qtbot.waitUntil(lambda: len(started) == 1, timeout=WAIT)
    assert AgentRepo(store.db).take_requests() == []  # the new agent will not stop


def test_this_builds_agent_is_left_running(store, started, open_app, qtbot) -> None:
    repo = running_agent(store, build_id())
    app_window = open_app()
    qtbot.waitUntil(lambda: app_window.agent_status.label.text().startswith("Service is running"),
                    timeout=WAIT)
    app_window.ctx.ops.wait_idle()
    assert repo.take_requests() == []
    assert started == []
