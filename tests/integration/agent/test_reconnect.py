"""The agent finds the server again by itself, however long it was away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.settings_repo import SettingsRepo
from app.store.sync.agent_repo import AgentRepo
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.integration.imaging.conftest import FakeClock

OUTAGE_S = 20 * 60
BACK_WITHIN_S = 15


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Server]:
    """A cloud of this test's own, which it stops and starts again on the same port."""
    srv = start_server(tmp_path / "cloud")
    yield srv
    stop_server(srv)


def test_agent_reconnects_within_15_s_of_the_cloud_coming_back(
        clinic, cloud: Server, tmp_path: Path) -> None:
    (pc,) = clinic(1)
    clock = FakeClock()
    agent = pc.agent
    agent.now = clock  # the agent's own clock: an outage of minutes, run in seconds
    SettingsRepo(pc.store.db).set("automatic_update", True)
    status = AgentRepo(pc.store.db)
    agent.tick()
    assert status.status().online

    stop_server(cloud)
    pc.store.patients.create(pc.admin.viewer(), {"first_name": "Aylin", "last_name": "Kaya"})
    for _ in range(OUTAGE_S):
        clock.advance(1.0)
        agent.tick()
    assert not status.status().online
    # What the status bar says, in words: no library's names.
    assert status.status().last_error == "no connection to the server"
    assert pc.repo.outbox_counts()[0] == 1

    port = int(cloud.url.rsplit(":", 1)[1])
    back = start_server(cloud.data, port=port)
    cloud.proc = back.proc  # the fixture stops this one
    waited = 0
    while not (status.status().online and pc.repo.outbox_counts() == (0, 0)):
        assert waited < BACK_WITHIN_S, "the agent did not reconnect by itself"
        clock.advance(1.0)
        waited += 1
        agent.tick()
    print(f"reconnected {waited} s after the cloud came back")
